-- patd schema v7 (#16): rotations that track their clients. A row while a
-- regenerated token's previous value may still be used: when to retire it
-- once unused, where and how often the previous value was last used, and
-- the first use of the new one. Gone when the previous value is retired.
CREATE TABLE rotations (
    token_id             INTEGER PRIMARY KEY,
    started_at           INTEGER NOT NULL,
    retire_when_unused   INTEGER NOT NULL DEFAULT 0,
    previous_uses        INTEGER NOT NULL DEFAULT 0,
    previous_at          INTEGER NOT NULL DEFAULT 0,
    previous_ip          TEXT NOT NULL DEFAULT '',
    previous_method      TEXT NOT NULL DEFAULT '',
    previous_path        TEXT NOT NULL DEFAULT '',
    previous_user_agent  TEXT NOT NULL DEFAULT '',
    current_at           INTEGER NOT NULL DEFAULT 0,
    current_ip           TEXT NOT NULL DEFAULT '',
    current_method       TEXT NOT NULL DEFAULT '',
    current_path         TEXT NOT NULL DEFAULT '',
    current_user_agent   TEXT NOT NULL DEFAULT ''
);
