-- Rollups (docs/QUERIES.md, "Rollups"): per-minute and per-hour statistics of a series, kept by the
-- worker where block statistics are not enough: an hour of many blocks (more points than one compacted
-- block holds), or a fast series whose minutes are asked for over long ranges.
--
-- One row per (series, width, UTC hour): the statistics of each minute (width 60 s) or of the hour
-- (width 3600 s) that has points, packed in `stats` (services/runtime/rollups.py gives the layout).
-- A row that exists is current: every writer that changes an hour's blocks deletes the hour's rollups in
-- the same transaction (ingest writing a block, retention trimming, compaction, which then writes them
-- anew), so a query can take a row it finds as the truth about its hour.
CREATE TABLE telemetry.rollups (
    tenant_id    uuid NOT NULL,
    series_id    uuid NOT NULL,
    width_ns     bigint NOT NULL CHECK (width_ns IN (60000000000, 3600000000000)),
    hour_ns      bigint NOT NULL CHECK (hour_ns % 3600000000000 = 0),
    stats        bytea NOT NULL,
    PRIMARY KEY (tenant_id, series_id, width_ns, hour_ns)
);
ALTER TABLE telemetry.rollups ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.rollups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.rollups
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON telemetry.rollups TO sf_worker;
GRANT SELECT ON telemetry.rollups TO sf_analytics;

-- Ingest deletes the rollups of the hours it writes blocks into; offboarding deletes every telemetry row
-- of a purged tenant (RELIABILITY I8), these and the retention notices included.
GRANT SELECT, DELETE ON telemetry.rollups TO sf_ingest;
GRANT SELECT, DELETE ON telemetry.retention_notices, telemetry.retention_announcements TO sf_ingest;
