-- Points refused because their series already had a value at that timestamp (first write wins), counted.
ALTER TABLE telemetry.usage_daily ADD COLUMN conflicts bigint NOT NULL DEFAULT 0;
