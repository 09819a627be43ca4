-- Enrollments held by a task, and the sends booked for messages not yet delivered.
ALTER TABLE flow_enrollments ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS flow_booked (user_name TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS flow_booked_by_user ON flow_booked (user_name, at);
