-- Signing keys of exchanged JWTs (#14); see the SQLite migration 0003.
DROP TABLE signing_keys;
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('ES256', 'EdDSA')),
    private_enc  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL
);
