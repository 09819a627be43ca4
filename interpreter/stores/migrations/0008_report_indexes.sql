-- The indexes the report pages read by (flowc/report.py, flowc/ui/), so that
-- a page costs the same on a store of a million entries as on a small one
-- (bench/bench_report.py). IF NOT EXISTS: adding an index twice is harmless.
--
-- A sequence's latest ends, newest first. Without it, both backends read
-- the log back from its end until they have found them: the whole log for a
-- sequence whose ends are few or long ago (measured at 1M entries, a
-- sequence without ends: PostgreSQL 146 ms, SQLite 82 ms; with it under
-- 1 ms). Partial, so that the entries that are not an end (most) cost no
-- write to it.
CREATE INDEX IF NOT EXISTS flow_audit_ends_by_sequence ON flow_audit (sequence, seq)
    WHERE outcome IN ('finished', 'ended', 'unenrolled');
-- The counters of one outcome (enrolled, email_sent, a skip's reason), per
-- day: the report reads those rows only, not every counter.
CREATE INDEX IF NOT EXISTS flow_counts_by_outcome ON flow_counts (outcome, reason);
