-- Reading the senders' inboxes (interpreter/inbox/): each folder's position,
-- committed with the events its messages became, and each inbox's reader.
CREATE TABLE flow_inbox_folders (
    inbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity BIGINT NOT NULL, last_uid BIGINT NOT NULL,
    PRIMARY KEY (inbox, folder));
CREATE TABLE flow_inbox_readers (
    inbox TEXT PRIMARY KEY, reader TEXT, lease_until TEXT, state TEXT NOT NULL DEFAULT '{}');
