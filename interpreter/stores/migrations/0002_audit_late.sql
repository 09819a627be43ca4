-- Whether an audit entry's event came later than the store's clock.
ALTER TABLE flow_audit ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
