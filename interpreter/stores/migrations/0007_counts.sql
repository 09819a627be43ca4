-- The report counters (interpreter/tally.py), kept as the engine writes, and
-- the indexes a contact's timeline and enrollments are read by.
CREATE TABLE flow_counts (
    day TEXT NOT NULL, sequence TEXT NOT NULL, user_name TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL,
    step INTEGER NOT NULL, part INTEGER NOT NULL, n BIGINT NOT NULL,
    PRIMARY KEY (day, sequence, user_name, outcome, reason, step, part));
CREATE INDEX flow_audit_by_contact ON flow_audit (contact, seq);
CREATE INDEX flow_enrollments_by_contact ON flow_enrollments (contact);
-- A store with entries written before the counters: `flowc report` counts them first.
INSERT INTO flow_meta (key, value) SELECT 'counts', 'stale' WHERE EXISTS (SELECT 1 FROM flow_audit);
