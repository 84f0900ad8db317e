-- The newest point of each series, kept by ingest in the statement that stores a batch (docs/QUERIES.md,
-- "Latest values"). Finding it in telemetry.blocks meant an index probe per series in every partition a
-- query could not prune; a dashboard asks for hundreds of series at once, and here it is one row each.
--
-- A (series, time) never gets a second value (ingest keeps the first write), so the newest point only
-- moves forward; retention deletes the row of a series whose newest point it deleted, the tenant purge
-- deletes them all. Compaction changes no point, so it leaves the table alone.
CREATE TABLE telemetry.series_latest (
    tenant_id uuid NOT NULL,
    series_id uuid NOT NULL,
    ts_ns     bigint NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (tenant_id, series_id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON telemetry.series_latest TO sf_ingest;
GRANT SELECT, DELETE ON telemetry.series_latest TO sf_worker;
GRANT SELECT ON telemetry.series_latest TO sf_analytics;

-- What the blocks already hold (a block's last point lies at its end_ns: points are stored in time order),
-- read by the owner past the parent's forced policy, before this table's own policy is switched on.
ALTER TABLE telemetry.blocks NO FORCE ROW LEVEL SECURITY;
INSERT INTO telemetry.series_latest (tenant_id, series_id, ts_ns, value)
SELECT DISTINCT ON (tenant_id, series_id) tenant_id, series_id, end_ns, last_value
FROM telemetry.blocks ORDER BY tenant_id, series_id, end_ns DESC, id DESC;
ALTER TABLE telemetry.blocks FORCE ROW LEVEL SECURITY;

ALTER TABLE telemetry.series_latest ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.series_latest FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.series_latest
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Nothing else looks blocks up by their end any more: the index of each series' latest blocks goes, a
-- tenth of the bytes a compacted block costs beside its payload.
DROP INDEX telemetry.blocks_series_end;
