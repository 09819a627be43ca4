-- An enrollment paused by an out-of-office answer, until when (NULL: not paused).
-- (Version 5 belongs to another change of the same release.)
ALTER TABLE flow_enrollments ADD COLUMN paused_until TEXT;
