-- PostgreSQL only: the queue that workers share.
CREATE TABLE IF NOT EXISTS flow_queue (
    id {serial}, t TEXT NOT NULL, rank INTEGER NOT NULL, keys TEXT[] NOT NULL, kind TEXT NOT NULL,
    ref TEXT, workflow TEXT, body TEXT, line INTEGER);
CREATE INDEX IF NOT EXISTS flow_queue_order ON flow_queue (t, rank, id);
