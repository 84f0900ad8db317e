-- Smart-factory level assessments (docs/ANALYTICS.md, "Smart-factory level"): one row per tenant per UTC
-- day, the last assessment asked for that day (analytics stores it each time a reader assesses the tenant).
-- On every cell beside the analytics tables of migration 0014, which the assessment also reads.
CREATE TABLE analytics.level_assessments (
    tenant_id   uuid NOT NULL,
    day         date NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 5),
    criteria    jsonb NOT NULL,   -- [{level, name, met, evidence}]
    next_steps  jsonb NOT NULL,   -- [text]
    assessed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX level_assessments_time ON analytics.level_assessments (tenant_id, assessed_at);

ALTER TABLE analytics.level_assessments ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.level_assessments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.level_assessments
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON analytics.level_assessments TO sf_analytics;
-- The tenant purge (ingest) deletes every row of an offboarded tenant on each cell.
GRANT SELECT, DELETE ON analytics.level_assessments TO sf_ingest;
