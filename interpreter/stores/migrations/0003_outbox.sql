-- The messages to send, each with its delivery state and lease.
CREATE TABLE IF NOT EXISTS flow_outbox (
    id {serial}, enrollment BIGINT NOT NULL, step INTEGER NOT NULL, user_name TEXT NOT NULL, inbox TEXT,
    sender TEXT NOT NULL, sender_name TEXT, recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE, in_reply_to TEXT, refs TEXT, created TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_attempt TEXT NOT NULL, first_try TEXT, lease_holder TEXT, lease_until TEXT,
    response TEXT);
CREATE INDEX IF NOT EXISTS flow_outbox_open ON flow_outbox (next_attempt, id) WHERE state IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS flow_outbox_thread ON flow_outbox (enrollment, id);
