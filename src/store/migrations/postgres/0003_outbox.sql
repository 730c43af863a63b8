-- The outbox of emails (#15); see the SQLite migration 0004.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN user_id BIGINT;
CREATE INDEX outbox_due ON outbox(status, next_try_at);
