-- patd schema v2: the store takes many writers (DESIGN.md "Decisions for the
-- next capabilities").
--  * Ids are never reused: users, tokens, audit and outbox become
--    AUTOINCREMENT tables (a rowid table hands the largest id out again once
--    its row is deleted). SQLite cannot add AUTOINCREMENT to a table, so
--    each is rebuilt with its rows; sqlite_sequence starts at the largest id
--    copied.
--  * Rows that are edited carry a version: a write names the version it
--    replaces, and one that lost a race changes nothing.
--  * The changes feed: every committed change that can alter a verification.
-- Runs with foreign keys off (the store turns them on after migrating).
CREATE TABLE users_v2 (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('superuser', 'member')),
    disabled          INTEGER NOT NULL DEFAULT 0,
    can_manage_tokens INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1
);
INSERT INTO users_v2 (id, username, email, password_hash, role, disabled, can_manage_tokens,
                      created_at, updated_at)
    SELECT id, username, email, password_hash, role, disabled, can_manage_tokens, created_at,
           updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_v2 RENAME TO users;

CREATE TABLE tokens_v2 (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
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
    version              INTEGER NOT NULL DEFAULT 1,
    UNIQUE (user_id, name)
);
INSERT INTO tokens_v2 (id, user_id, name, description, prefix, secret_hash, previous_hash,
                       previous_valid_until, scopes, allowed_cidrs, created_at, updated_at,
                       expires_at, disabled_at, last_used_at, last_used_ip, last_used_method,
                       last_used_path, last_used_user_agent, use_count)
    SELECT id, user_id, name, description, prefix, secret_hash, previous_hash,
           previous_valid_until, scopes, allowed_cidrs, created_at, updated_at, expires_at,
           disabled_at, last_used_at, last_used_ip, last_used_method, last_used_path,
           last_used_user_agent, use_count FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE INDEX tokens_previous_hash ON tokens(previous_hash) WHERE previous_hash IS NOT NULL;
CREATE INDEX tokens_expires_at ON tokens(expires_at);

CREATE TABLE audit_v2 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor_user_id  INTEGER,
    actor_token_id INTEGER,
    action         TEXT NOT NULL,
    target         TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_v2 SELECT id, at, actor_user_id, actor_token_id, action, target, ip,
                            user_agent, detail FROM audit;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_at ON audit(at);

CREATE TABLE outbox_v2 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL,
    sent_at     INTEGER
);
INSERT INTO outbox_v2 SELECT id, created_at, recipient, subject, body, attempts, next_try_at,
                             sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;

-- One row per committed change that can alter a verification. kind is
-- 'token' (entity_id = token id; hash and previous_hash name the values a
-- cache may hold, also after the row is deleted), 'user' (entity_id = user
-- id) or 'policy'. Pruned after a retention.
CREATE TABLE changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('token', 'user', 'policy', 'key', 'membership')),
    entity_id     INTEGER NOT NULL DEFAULT 0,
    hash          BLOB,
    previous_hash BLOB
);
CREATE INDEX changes_at ON changes(at);
