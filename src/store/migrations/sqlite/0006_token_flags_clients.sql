-- patd schema v6 (#15): token flags (bit 1 = a canary, a decoy that is
-- never valid; bit 2 = no new-client alerts for this token) and the
-- clients each token was used from: one row per IP network (IPv4 /24,
-- IPv6 /64) and user-agent product, the most recently seen kept, with the
-- time an alert about it was sent (0 = none), so alerts are rate-limited
-- across restarts and instances.
ALTER TABLE tokens ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
CREATE TABLE token_clients (
    token_id   INTEGER NOT NULL,
    network    TEXT NOT NULL,
    product    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    alerted_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, network, product)
);
