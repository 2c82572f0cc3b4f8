-- The audit page on a large log (issue 11; measured on 10 million rows in
-- docs/benchmarks.md, "Audit log with 10 million rows").
--
-- No index more than before, because every index is one more write on the
-- audit writer's insert path: one is added and one replaced. The page walks
-- `seq` down from the newest entry through the existing indexes (the primary
-- key, (account_id, seq), (action, seq), (token_prefix, seq)) and its SQL
-- holds only the filters given, planned for their values
-- (app/src/audit/query.rs). The exception is a date range with an end: its
-- entries may lie far back, so it is read range first, and that wants the
-- range's entries in time order with `seq` in the index, so the range's
-- newest seqs come from the index alone (an index-only scan, no table
-- pages): (account_id, at, seq) for one account's range, and (at, seq) in
-- place of (at) for every account's (which the retention sweep's
-- `at < cutoff` uses as before).
-- Not added: (account_id, action, seq) or a partial index on security = 1:
-- the plans for a rare action or security-only stayed under 25 ms with the
-- (action, seq) and (account_id, seq) indexes.
CREATE INDEX IF NOT EXISTS audit_events_account_at_idx ON audit_events (account_id, at, seq);
DROP INDEX IF EXISTS audit_events_at_idx;
CREATE INDEX audit_events_at_idx ON audit_events (at, seq);
