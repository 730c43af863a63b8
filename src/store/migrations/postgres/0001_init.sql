-- patd schema on PostgreSQL: the same tables as SQLite's schema v2
-- (DESIGN.md "Data"), in PostgreSQL's types. Times are UTC seconds; NULL =
-- none. Ids come from identity columns, which never hand a number out
-- twice.
CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('superuser', 'member')),
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    can_manage_tokens BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE tokens (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              BIGINT NOT NULL REFERENCES users(id),
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    prefix               TEXT NOT NULL,
    secret_hash          BYTEA NOT NULL UNIQUE,
    previous_hash        BYTEA,
    previous_valid_until BIGINT,
    scopes               TEXT NOT NULL DEFAULT '',
    allowed_cidrs        TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    expires_at           BIGINT,
    disabled_at          BIGINT,
    last_used_at         BIGINT,
    last_used_ip         TEXT,
    last_used_method     TEXT,
    last_used_path       TEXT,
    last_used_user_agent TEXT,
    use_count            BIGINT NOT NULL DEFAULT 0,
    version              BIGINT NOT NULL DEFAULT 1,
    UNIQUE (user_id, name)
);
CREATE INDEX tokens_previous_hash ON tokens(previous_hash) WHERE previous_hash IS NOT NULL;
CREATE INDEX tokens_expires_at ON tokens(expires_at);

CREATE TABLE sessions (
    id_hash         BYTEA PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users(id),
    csrf_hash       BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    confirmed_until BIGINT NOT NULL DEFAULT 0,
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor_user_id  BIGINT,
    actor_token_id BIGINT,
    action         TEXT NOT NULL,
    target         TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);

CREATE TABLE outbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at BIGINT NOT NULL,
    sent_at     BIGINT
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    private_enc BYTEA NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The changes feed (see the SQLite schema v2). Writers take turns (a
-- transaction-scoped advisory lock, store/postgres/db.c), so a later
-- commit never has a smaller seq and a reader that has seen seq N has seen
-- every change before it. Each insert also notifies 'patd_changes'.
CREATE TABLE changes (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('token', 'user', 'policy', 'key', 'membership')),
    entity_id     BIGINT NOT NULL DEFAULT 0,
    hash          BYTEA,
    previous_hash BYTEA
);
CREATE INDEX changes_at ON changes(at);
