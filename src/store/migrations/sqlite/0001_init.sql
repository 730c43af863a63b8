-- patd schema v1 (DESIGN.md "Data"). Times are UTC seconds; NULL = none.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('superuser', 'member')),
    disabled          INTEGER NOT NULL DEFAULT 0,
    can_manage_tokens INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE tokens (
    id                   INTEGER PRIMARY KEY,
    user_id              INTEGER NOT NULL REFERENCES users(id),
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    prefix               TEXT NOT NULL,
    secret_hash          BLOB NOT NULL UNIQUE,
    previous_hash        BLOB,
    previous_valid_until INTEGER,
    scopes               TEXT NOT NULL DEFAULT '',
    allowed_cidrs        TEXT NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    expires_at           INTEGER,
    disabled_at          INTEGER,
    last_used_at         INTEGER,
    last_used_ip         TEXT,
    last_used_method     TEXT,
    last_used_path       TEXT,
    last_used_user_agent TEXT,
    use_count            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, name)
);
CREATE INDEX tokens_previous_hash ON tokens(previous_hash) WHERE previous_hash IS NOT NULL;

CREATE TABLE sessions (
    id_hash         BLOB PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    csrf_hash       BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    confirmed_until INTEGER NOT NULL DEFAULT 0,
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    actor_user_id  INTEGER,
    actor_token_id INTEGER,
    action         TEXT NOT NULL,
    target         TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL,
    sent_at     INTEGER
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    private_enc BLOB NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
