-- People's notification preferences and the expiry reminders sent (#15);
-- see the SQLite migration 0005.
ALTER TABLE users ADD COLUMN notify_off BIGINT NOT NULL DEFAULT 0;
CREATE TABLE reminders (
    token_id  BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    sent_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, threshold)
);
