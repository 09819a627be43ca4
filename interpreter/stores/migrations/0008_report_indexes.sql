-- The indexes the report pages read by (flowc/report.py, flowc/ui/), so that
-- a page costs the same on a store of a million entries as on a small one
-- (bench/bench_report.py). IF NOT EXISTS: adding an index twice is harmless.
--
-- A sequence's entries in order, for its latest ends. Without it, both
-- backends read the log back from its end until they have found them: the
-- whole log for a sequence whose ends are few or long ago (measured at 1M
-- entries, a sequence without ends: PostgreSQL 146 ms, SQLite 82 ms; with it
-- under 1 ms). Not partial (ends only): SQLite evaluates the condition of a
-- partial index at every insert, which cost the engine more than the index
-- (measured: audit inserts 45% slower; with this one, within the noise).
CREATE INDEX IF NOT EXISTS flow_audit_by_sequence ON flow_audit (sequence, seq);
-- The counters of one outcome (enrolled, email_sent, a skip's reason), per
-- day: the report reads those rows only, not every counter.
CREATE INDEX IF NOT EXISTS flow_counts_by_outcome ON flow_counts (outcome, reason);
