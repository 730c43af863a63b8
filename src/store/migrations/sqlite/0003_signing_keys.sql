-- patd schema v3: signing keys of exchanged JWTs (#14). A key is published
-- from created_at and signs from activates_at until a newer key does; it
-- stays published until every JWT it signed has expired (the service
-- decides, from the keys' times). private_enc is sealed under a key derived
-- from the server key, never stored plain.
DROP TABLE signing_keys;
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL CHECK (algorithm IN ('ES256', 'EdDSA')),
    private_enc  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL
);
