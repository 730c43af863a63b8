-- patd schema v5 (#15): people's notification preferences (notify_off: bit
-- 1 = no expiry reminders, bit 2 = no new-client alerts; security emails
-- cannot be turned off) and the expiry reminders already sent, one row per
-- token and threshold (days before expiry; 0 = it has expired), so none is
-- sent twice, even across restarts.
ALTER TABLE users ADD COLUMN notify_off INTEGER NOT NULL DEFAULT 0;
CREATE TABLE reminders (
    token_id  INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    sent_at   INTEGER NOT NULL,
    PRIMARY KEY (token_id, threshold)
);
