-- Notifications (app/src/notifications): one row per (event, recipient,
-- channel) under a unique key, written in the same transaction as what
-- caused it. The in-app row is the notification; the email row is its
-- outbox entry (state: pending, sending, sent, failed, skipped, expired).
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    details         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    read_at         BIGINT,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    UNIQUE (event_key, account_id, channel)
);
CREATE INDEX notifications_inbox_idx ON notifications (account_id, channel, created_at);
CREATE INDEX notifications_outbox_idx ON notifications (channel, state, next_attempt_at);
CREATE INDEX notifications_age_idx ON notifications (created_at);

-- An owner's choices, only where they differ from the defaults.
CREATE TABLE notification_prefs (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    enabled    BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
);

-- The expiry warnings a token had (7, then 1: days before its expiry), so
-- the sweep claims each once, on any instance.
ALTER TABLE api_tokens ADD COLUMN expiry_warned_days BIGINT;
