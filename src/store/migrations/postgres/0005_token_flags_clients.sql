-- Token flags and the clients each token was used from (#15); see the
-- SQLite migration 0006.
ALTER TABLE tokens ADD COLUMN flags BIGINT NOT NULL DEFAULT 0;
CREATE TABLE token_clients (
    token_id   BIGINT NOT NULL,
    network    TEXT NOT NULL,
    product    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    alerted_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, network, product)
);
