-- Anomaly detection on the platform (docs/ANALYTICS.md, "Anomaly detection"): each machine's model, fitted
-- by analytics on a reference period, and the anomalies the worker finds scoring the machine's data as it
-- arrives. On every cell, beside the other analytics tables.
GRANT USAGE ON SCHEMA analytics TO sf_worker;

-- One model per machine. `model` holds the fitted parameters, `state` where scoring stands (the filters,
-- the alarm, the last value of each series, the open anomaly); `scored_until_ns` is the end of the last
-- scored step: the worker reads from there, and writes state and anomalies in the same transaction.
CREATE TABLE analytics.anomaly_models (
    tenant_id       uuid NOT NULL,
    machine_id      uuid NOT NULL,
    series_ids      uuid[] NOT NULL CHECK (cardinality(series_ids) >= 1),
    step_ns         bigint NOT NULL CHECK (step_ns > 0),
    reference_start_ns bigint NOT NULL,
    reference_end_ns   bigint NOT NULL CHECK (reference_end_ns > reference_start_ns),
    reference_rows  integer NOT NULL,
    model           jsonb NOT NULL,
    state           jsonb NOT NULL,
    scored_until_ns bigint NOT NULL,
    trained_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, machine_id)
);

-- An anomaly: from its first anomalous step to the end of its last (NULL while it lasts), the series that
-- contributed (largest share first). `raised`/`cleared`: the alarm hook has been told (an outbox: the
-- worker reports what is not yet marked, so a report lost to a tenancy outage is made on the next pass).
CREATE TABLE analytics.anomalies (
    tenant_id   uuid NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    machine_id  uuid NOT NULL,
    start_ns    bigint NOT NULL,
    end_ns      bigint CHECK (end_ns > start_ns),
    series_ids  uuid[] NOT NULL,
    peak_score  float8 NOT NULL,
    threshold   float8 NOT NULL,
    raised      boolean NOT NULL DEFAULT false,
    cleared     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX anomalies_machine_time ON analytics.anomalies (tenant_id, machine_id, start_ns);
CREATE INDEX anomalies_unreported ON analytics.anomalies (tenant_id) WHERE NOT raised OR NOT cleared;

ALTER TABLE analytics.anomaly_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.anomaly_models FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.anomaly_models
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE analytics.anomalies ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.anomalies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.anomalies
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- analytics fits models and reads anomalies; the worker scores; the tenant purge (ingest) deletes both.
GRANT SELECT, INSERT, UPDATE ON analytics.anomaly_models TO sf_analytics;
GRANT SELECT ON analytics.anomalies TO sf_analytics;
GRANT SELECT, UPDATE ON analytics.anomaly_models TO sf_worker;
GRANT SELECT, INSERT, UPDATE ON analytics.anomalies TO sf_worker;
GRANT SELECT, DELETE ON analytics.anomaly_models, analytics.anomalies TO sf_ingest;
