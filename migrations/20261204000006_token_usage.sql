-- The calls rollup (app/src/audit/calls.rs): calls per credential (an API
-- key's id or an OAuth grant's id), UTC day (days since 1970-01-01) and
-- outcome, kept by the audit writer in the same transaction as the entries.
CREATE TABLE token_usage (
    credential_id TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    day           BIGINT NOT NULL,
    outcome       TEXT NOT NULL,
    calls         BIGINT NOT NULL,
    PRIMARY KEY (credential_id, day, outcome)
);
CREATE INDEX token_usage_day_idx ON token_usage (day);

-- The IPs a credential was used from: when last and how often (the writer
-- keeps these too; first_seen was already there).
ALTER TABLE token_ips ADD COLUMN last_seen BIGINT;
ALTER TABLE token_ips ADD COLUMN calls BIGINT NOT NULL DEFAULT 0;

-- Entries written before this migration are counted once, in batches,
-- from next_seq up to until_seq (the head at this point).
CREATE TABLE token_usage_backfill (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    next_seq  BIGINT NOT NULL,
    until_seq BIGINT NOT NULL
);
INSERT INTO token_usage_backfill (id, next_seq, until_seq)
VALUES (1, COALESCE((SELECT MIN(seq) FROM audit_events), 1),
        COALESCE((SELECT last_seq FROM audit_head WHERE id = 1), 0));
