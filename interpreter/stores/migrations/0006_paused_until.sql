-- An enrollment paused by an out-of-office answer, until when (NULL: not paused).
-- (Version 5 is the inbox tables, 0005_inbox.sql.)
ALTER TABLE flow_enrollments ADD COLUMN paused_until TEXT;
