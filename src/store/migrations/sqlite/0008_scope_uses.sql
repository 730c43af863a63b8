-- patd schema v8 (#16): the scopes each token actually used (a request
-- that needed the scope and got it), counted and with the latest use,
-- written behind in batches like last use: least privilege from observed
-- use.
CREATE TABLE scope_uses (
    token_id     INTEGER NOT NULL,
    scope        TEXT NOT NULL,
    last_used_at INTEGER NOT NULL,
    uses         INTEGER NOT NULL,
    PRIMARY KEY (token_id, scope)
);
