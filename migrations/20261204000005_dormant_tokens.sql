-- The dormant-token policy: API keys unused for this many days are revoked
-- by the periodic sweep (reason `dormant`). NULL: off (the default).
ALTER TABLE token_policy ADD COLUMN revoke_unused_after_days BIGINT;
