-- The audit chain's head (last seq and hash) and its retention anchor are
-- authenticated with the audit key, as the entries are: someone who can
-- write the database but not the keyring can no longer delete the oldest
-- entries and move the anchor, or delete the newest and rewind the head.
-- Each MAC names the keyring key it was made with. The sealed head
-- (`sealed_seq`, `sealed_hash`) is where the chain ended when an append last
-- checked and MACed it; it only ever moves forward from a seal that still
-- matches the chain, so a rewound head is not re-sealed by later appends.
-- `anchor_entry_at` is the time of the newest purged entry, so `audit
-- verify` can tell an anchor newer than the retention allows.
ALTER TABLE audit_head ADD COLUMN sealed_seq BIGINT;
ALTER TABLE audit_head ADD COLUMN sealed_hash TEXT;
ALTER TABLE audit_head ADD COLUMN head_mac TEXT;
ALTER TABLE audit_head ADD COLUMN head_key_id TEXT;
ALTER TABLE audit_head ADD COLUMN anchor_mac TEXT;
ALTER TABLE audit_head ADD COLUMN anchor_key_id TEXT;
ALTER TABLE audit_head ADD COLUMN anchor_entry_at BIGINT;
