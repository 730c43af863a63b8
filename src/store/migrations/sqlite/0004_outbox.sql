-- patd schema v4: the outbox of emails (#15). A row is written in the
-- transaction of the change it reports; the sender claims due rows (a
-- lease: next_try_at moves ahead while it sends), marks them sent, or
-- backs off and finally gives up ('failed'). message_id is fixed when the
-- row is made, so a resend after a crash is recognisable.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'sent', 'failed'));
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN user_id INTEGER;
CREATE INDEX outbox_due ON outbox(status, next_try_at);
