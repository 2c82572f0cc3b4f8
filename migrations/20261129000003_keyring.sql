-- The keyring (issue 13): audit entries name the key that links them, and
-- idempotent answers carry their own expiry (a rotation's replay, which
-- holds a sealed secret, lives 10 minutes; other answers 24 hours).
ALTER TABLE audit_events ADD COLUMN key_id TEXT;
ALTER TABLE idempotency_keys ADD COLUMN expires_at BIGINT;
UPDATE idempotency_keys SET expires_at = created_at + 86400000;
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Admin opt-in: revoke a rotation family whenever a retired member is
-- presented, not only when it tries to rotate.
ALTER TABLE token_policy ADD COLUMN revoke_family_on_reuse BIGINT NOT NULL DEFAULT 0;
