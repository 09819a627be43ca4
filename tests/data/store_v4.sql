-- The tables of flowc at commit d3de414 (schema version 4), as it made them ({serial}: the backend's key).
CREATE TABLE IF NOT EXISTS flow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flow_events (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS flow_users (
    name TEXT PRIMARY KEY, seat TEXT NOT NULL, inbox TEXT, aliases TEXT NOT NULL,
    send_limit INTEGER NOT NULL, declared TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flow_sequences (name TEXT PRIMARY KEY, declared TEXT NOT NULL, deleted INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS flow_contacts (email TEXT PRIMARY KEY, properties TEXT NOT NULL, opted_out TEXT);
CREATE TABLE IF NOT EXISTS flow_enrollments (
    id {serial}, contact TEXT NOT NULL, sequence TEXT NOT NULL, user_name TEXT NOT NULL, sender TEXT NOT NULL,
    step INTEGER NOT NULL, status TEXT NOT NULL, started TEXT NOT NULL, workflow TEXT,
    held INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS flow_one_active_per_contact ON flow_enrollments (contact) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS flow_active_by_sequence ON flow_enrollments (sequence) WHERE status = 'active';
CREATE TABLE IF NOT EXISTS flow_runs (
    workflow TEXT NOT NULL, contact TEXT NOT NULL, status TEXT NOT NULL, pc INTEGER NOT NULL, event TEXT,
    fields TEXT NOT NULL, PRIMARY KEY (workflow, contact));
CREATE TABLE IF NOT EXISTS flow_due (
    seq {serial}, at TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, workflow TEXT);
CREATE INDEX IF NOT EXISTS flow_due_order ON flow_due (at, seq);
CREATE TABLE IF NOT EXISTS flow_sends (id {serial}, user_name TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS flow_sends_window ON flow_sends (user_name, at);
CREATE TABLE IF NOT EXISTS flow_booked (user_name TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS flow_booked_by_user ON flow_booked (user_name, at);
CREATE TABLE IF NOT EXISTS flow_audit (
    seq {serial}, at TEXT, event TEXT, workflow TEXT, contact TEXT, sequence TEXT, user_name TEXT,
    outcome TEXT NOT NULL, reason TEXT, detail TEXT, line INTEGER, message TEXT, late INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS flow_outbox (
    id {serial}, enrollment BIGINT NOT NULL, step INTEGER NOT NULL, user_name TEXT NOT NULL, inbox TEXT,
    sender TEXT NOT NULL, sender_name TEXT, recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, in_reply_to TEXT, refs TEXT, created TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_attempt TEXT NOT NULL, first_try TEXT, lease_holder TEXT, lease_until TEXT,
    response TEXT);
CREATE INDEX IF NOT EXISTS flow_outbox_open ON flow_outbox (next_attempt, id) WHERE state IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS flow_outbox_thread ON flow_outbox (enrollment, id);
