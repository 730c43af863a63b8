-- The scopes each token actually used (#16); see the SQLite migration 0008.
CREATE TABLE scope_uses (
    token_id     BIGINT NOT NULL,
    scope        TEXT NOT NULL,
    last_used_at BIGINT NOT NULL,
    uses         BIGINT NOT NULL,
    PRIMARY KEY (token_id, scope)
);
