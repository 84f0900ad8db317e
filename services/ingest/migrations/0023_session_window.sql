-- Exactly once when a session's batches arrive out of order (RELIABILITY D7): a client with several
-- streams of one session in flight, released together when a stalled dependency came back, had a batch
-- that arrived after a higher-numbered one taken for a retry (`duplicate: true`, nothing stored). Each
-- session now also keeps which of the 64 batch numbers at and below its highest are stored: bit i of `seen`
-- is batch `last_batch_no - i`. A batch within that window is stored unless its bit is set; one further
-- behind is taken for a retry, as every batch below the highest was before. Existing sessions keep that
-- meaning: all their bits set.
ALTER TABLE telemetry.ingest_sessions ADD COLUMN seen bigint NOT NULL DEFAULT -1;
ALTER TABLE telemetry.ingest_sessions ALTER COLUMN seen SET DEFAULT 1;
