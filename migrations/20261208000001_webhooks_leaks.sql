-- Signed webhooks (app/src/webhooks) and leaked-token reports (app/src/leaks).

-- The notification feed: one row per (event, recipient), whatever the
-- recipient's channel choices, numbered by a counter row that every writer
-- locks until it commits (as the audit chain's head is), so a row is never
-- committed behind a higher number a reader has already passed. Webhook
-- endpoints read it with a cursor, as they read the audit log.
CREATE TABLE notification_feed_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO notification_feed_head (id, last_seq) VALUES (1, 0);

CREATE TABLE notification_feed (
    seq        BIGINT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    event_key  TEXT NOT NULL,
    details    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (event_key, account_id)
);
CREATE INDEX notification_feed_account_idx ON notification_feed (account_id, seq);
CREATE INDEX notification_feed_age_idx ON notification_feed (created_at);

-- An endpoint: where to send, what, and its durable cursors (the last audit
-- seq and feed seq it has turned into deliveries, and its own next delivery
-- sequence number). The signing secret is sealed under the keyring; while a
-- roll's overlap lasts the old one signs too. One instance works an
-- endpoint at a time (the lease).
CREATE TABLE webhook_endpoints (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    all_accounts      BIGINT NOT NULL DEFAULT 0,
    url               TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    events            TEXT NOT NULL,
    batch_size        BIGINT NOT NULL DEFAULT 1,
    secret_sealed     TEXT NOT NULL,
    old_secret_sealed TEXT,
    old_secret_until  BIGINT,
    state             TEXT NOT NULL,
    disabled_reason   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    audit_cursor      BIGINT NOT NULL,
    notice_cursor     BIGINT NOT NULL,
    next_seq          BIGINT NOT NULL DEFAULT 1,
    failing_since     BIGINT,
    last_success_at   BIGINT,
    lease_until       BIGINT NOT NULL DEFAULT 0,
    lease_owner       TEXT
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id);
CREATE INDEX webhook_endpoints_state_idx ON webhook_endpoints (state, lease_until);

-- One event for one endpoint, in the endpoint's order (seq). Its id is the
-- `webhook-id` every attempt carries; its payload is the signed body.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    first_attempt_at BIGINT,
    next_attempt_at  BIGINT NOT NULL,
    last_attempt_at  BIGINT,
    last_status      BIGINT,
    last_latency_ms  BIGINT,
    last_error       TEXT,
    batch_id         TEXT,
    UNIQUE (endpoint_id, seq)
);
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (endpoint_id, state, seq);
CREATE INDEX webhook_deliveries_age_idx ON webhook_deliveries (created_at);

-- The ECDSA P-256 public keys whose signatures a leaked-token report must
-- carry (`preqstation leak-keys add`), by the identifier the reporter sends.
CREATE TABLE leak_report_keys (
    key_id     TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
