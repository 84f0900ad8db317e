-- What each device did last: when it last sent, its newest point, how much came late, what was refused and why.
CREATE TABLE telemetry.device_activity (
    tenant_id            uuid NOT NULL,
    device_id            uuid NOT NULL,
    last_batch_at        timestamptz,
    last_point_ns        bigint,
    late_points          bigint NOT NULL DEFAULT 0,   -- points more than an hour old when they arrived
    refused_batches      bigint NOT NULL DEFAULT 0,
    last_refusal_at      timestamptz,
    last_refusal_reason  text,
    last_refusal_message text,
    PRIMARY KEY (tenant_id, device_id)
);
ALTER TABLE telemetry.device_activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.device_activity FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.device_activity
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON telemetry.device_activity TO sf_ingest;
GRANT SELECT ON telemetry.device_activity TO sf_analytics;
