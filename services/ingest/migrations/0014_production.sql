-- Production analytics (docs/ANALYTICS.md, "OEE" and "SPC"): the analytics service's own tables, on every
-- cell beside the telemetry they are computed from. Schema `analytics` (DESIGN.md §1: analytics owns it);
-- the migration lives in the telemetry set because that set is what every cell applies.
--
-- site_calendars: a site's IANA time zone and its shifts, as JSON [{name, start_minute, duration_minutes}].
-- machine_oee:    a machine's OEE settings (the ideal cycle that overrides its template's, which series
--                 are its state, part and scrap counters, which states mean running, the state gap cap).
-- spc_events:     SPC violations (Western Electric rules) recorded from a chart: one row per series, time
--                 and rule. A later alarms piece consumes them (docs/ANALYTICS.md gives their shape).
CREATE SCHEMA IF NOT EXISTS analytics;
GRANT USAGE ON SCHEMA analytics TO sf_analytics, sf_ingest;

CREATE TABLE analytics.site_calendars (
    tenant_id  uuid NOT NULL,
    site_id    uuid NOT NULL,
    time_zone  text NOT NULL,
    shifts     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, site_id)
);

CREATE TABLE analytics.machine_oee (
    tenant_id       uuid NOT NULL,
    machine_id      uuid NOT NULL,
    ideal_cycle_s   double precision CHECK (ideal_cycle_s > 0),  -- NULL: the template's
    state_series    uuid,
    total_series    uuid,
    scrap_series    uuid,
    run_states      integer[] NOT NULL,
    max_gap_s       integer NOT NULL CHECK (max_gap_s > 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, machine_id)
);

CREATE TABLE analytics.spc_events (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    series_id     uuid NOT NULL,
    ts_ns         bigint NOT NULL,
    rule          smallint NOT NULL CHECK (rule BETWEEN 1 AND 4),
    value         double precision NOT NULL,
    chart         smallint NOT NULL,          -- 1 I-MR, 2 X-bar/R (sfcloud.v1.SpcChartKind)
    subgroup_size smallint NOT NULL,
    center        double precision NOT NULL,
    lower_limit   double precision NOT NULL,
    upper_limit   double precision NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, series_id, ts_ns, rule)
);
CREATE INDEX spc_events_time ON analytics.spc_events (tenant_id, ts_ns);

ALTER TABLE analytics.site_calendars ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.site_calendars FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.site_calendars
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE analytics.machine_oee ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.machine_oee FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.machine_oee
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
ALTER TABLE analytics.spc_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics.spc_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON analytics.spc_events
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.site_calendars, analytics.machine_oee TO sf_analytics;
GRANT SELECT, INSERT ON analytics.spc_events TO sf_analytics;
-- The tenant purge (ingest, RELIABILITY I8) deletes every row of an offboarded tenant on each cell.
GRANT SELECT, DELETE ON analytics.site_calendars, analytics.machine_oee, analytics.spc_events TO sf_ingest;
