-- The audit log (a hash chain), token rotation and expiry bookkeeping.

-- Entries in chain order. `seq` is assigned under the lock on audit_head, so
-- appends from several instances never fork the chain; `hash` is
-- SHA-256(prev_hash || canonical entry), `prev_hash` the previous entry's hash.
CREATE TABLE audit_events (
    seq          BIGINT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    at           BIGINT NOT NULL,
    account_id   TEXT,
    actor_kind   TEXT NOT NULL,
    actor        TEXT,
    action       TEXT NOT NULL,
    target       TEXT,
    outcome      TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    request_id   TEXT,
    token_prefix TEXT,
    details      TEXT,
    security     BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, seq);
CREATE INDEX audit_events_action_idx ON audit_events (action, seq);
CREATE INDEX audit_events_token_idx ON audit_events (token_prefix, seq);
CREATE INDEX audit_events_at_idx ON audit_events (at);

-- The chain's head (last seq and hash), locked by every append; and the
-- anchor where retention last cut the chain (the first kept entry's
-- prev_hash), so `audit verify` can start there.
CREATE TABLE audit_head (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    last_seq        BIGINT NOT NULL,
    last_hash       TEXT NOT NULL,
    anchor_seq      BIGINT NOT NULL,
    anchor_hash     TEXT NOT NULL,
    anchor_at       BIGINT
);
INSERT INTO audit_head (id, last_seq, last_hash, anchor_seq, anchor_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
        0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Rotation: the predecessor points at its successor and keeps working until
-- grace_until or the successor's first use, whichever comes first.
ALTER TABLE api_tokens ADD COLUMN rotated_to TEXT;
ALTER TABLE api_tokens ADD COLUMN rotated_from TEXT;
ALTER TABLE api_tokens ADD COLUMN grace_until BIGINT;
ALTER TABLE api_tokens ADD COLUMN first_used_at BIGINT;
-- Set once the sweep has written token_expired for this token.
ALTER TABLE api_tokens ADD COLUMN expiry_audited_at BIGINT;

-- Every IP a token was used from, to flag use from a new IP.
CREATE TABLE token_ips (
    token_id   TEXT NOT NULL,
    ip         TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (token_id, ip)
);
