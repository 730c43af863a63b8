-- Rotations that track their clients (#16); see the SQLite migration 0007.
CREATE TABLE rotations (
    token_id             BIGINT PRIMARY KEY,
    started_at           BIGINT NOT NULL,
    retire_when_unused   BIGINT NOT NULL DEFAULT 0,
    previous_uses        BIGINT NOT NULL DEFAULT 0,
    previous_at          BIGINT NOT NULL DEFAULT 0,
    previous_ip          TEXT NOT NULL DEFAULT '',
    previous_method      TEXT NOT NULL DEFAULT '',
    previous_path        TEXT NOT NULL DEFAULT '',
    previous_user_agent  TEXT NOT NULL DEFAULT '',
    current_at           BIGINT NOT NULL DEFAULT 0,
    current_ip           TEXT NOT NULL DEFAULT '',
    current_method       TEXT NOT NULL DEFAULT '',
    current_path         TEXT NOT NULL DEFAULT '',
    current_user_agent   TEXT NOT NULL DEFAULT ''
);
