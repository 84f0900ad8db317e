-- Telemetry as compressed blocks: one row holds one series' points for a time
-- range, encoded by tscodec, with the block's statistics beside the payload so
-- aggregates over whole blocks never decode them.
CREATE SCHEMA telemetry;

CREATE TABLE telemetry.blocks (
    tenant_id   uuid NOT NULL,
    series_id   uuid NOT NULL,
    start_ns    bigint NOT NULL,           -- first (smallest) timestamp in the block
    end_ns      bigint NOT NULL,           -- last (largest) timestamp in the block
    id          bigint GENERATED ALWAYS AS IDENTITY,
    count       integer NOT NULL CHECK (count > 0),
    min_value   double precision NOT NULL,
    max_value   double precision NOT NULL,
    sum_value   double precision NOT NULL,
    first_value double precision NOT NULL,
    last_value  double precision NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, series_id, start_ns, id),
    CHECK (end_ns >= start_ns)
);
-- The latest block of each series (live values, "latest" queries).
CREATE INDEX blocks_series_end ON telemetry.blocks (tenant_id, series_id, end_ns DESC);

ALTER TABLE telemetry.blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.blocks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.blocks
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT USAGE ON SCHEMA telemetry TO sf_ingest, sf_analytics;
GRANT SELECT, INSERT ON telemetry.blocks TO sf_ingest;
GRANT SELECT ON telemetry.blocks TO sf_analytics;
