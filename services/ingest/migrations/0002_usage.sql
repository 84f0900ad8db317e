-- Metering at the source: what each device sent each day, written in the same statement as the blocks,
-- so an acknowledged batch is always counted and a refused one never is.
CREATE TABLE telemetry.usage_daily (
    tenant_id uuid NOT NULL,
    day       date NOT NULL,
    device_id uuid NOT NULL,
    points    bigint NOT NULL DEFAULT 0,
    bytes     bigint NOT NULL DEFAULT 0,   -- compressed payload bytes written
    batches   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, device_id)
);
ALTER TABLE telemetry.usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.usage_daily
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON telemetry.usage_daily TO sf_ingest;
GRANT SELECT ON telemetry.usage_daily TO sf_analytics;
