-- Alarms (docs/ANALYTICS.md, "Alarms"): rules on a tenant's series and devices, the alarms they raise with
-- their history, the tenant's notification endpoints, and each notification's delivery.
--
-- Every table is the tenant's alone: row-level security enabled and forced, rows of app.tenant_id only.
-- Rules name their series or device with a foreign key that includes tenant_id, so a rule can never
-- point at another tenant's series (the service answers NOT_FOUND before the key would).

CREATE TABLE tenancy.alarm_rules (
    tenant_id     uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind          text NOT NULL CHECK (kind IN ('threshold', 'rate_of_change', 'no_data', 'spc_violation', 'anomaly')),
    severity      text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    series_id     uuid,
    device_id     uuid,
    condition     text CHECK (condition IN ('above', 'below', 'equals')),
    threshold     double precision NOT NULL DEFAULT 0,
    hysteresis    double precision NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
    rate_unit_ns  bigint NOT NULL DEFAULT 1000000000 CHECK (rate_unit_ns IN (1000000000, 60000000000)),
    window_ns     bigint NOT NULL DEFAULT 0 CHECK (window_ns >= 0),
    enabled       boolean NOT NULL DEFAULT true,
    flapping      boolean NOT NULL DEFAULT false,
    template      text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((kind = 'no_data') = (device_id IS NOT NULL AND series_id IS NULL)),
    CHECK (kind = 'no_data' OR series_id IS NOT NULL),
    FOREIGN KEY (tenant_id, series_id) REFERENCES tenancy.series (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, device_id) REFERENCES tenancy.devices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_rules_series ON tenancy.alarm_rules (tenant_id, series_id, kind);

CREATE TABLE tenancy.alarm_endpoints (
    tenant_id     uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('webhook', 'email')),
    target        text NOT NULL CHECK (length(target) BETWEEN 3 AND 2000),
    secret        text NOT NULL DEFAULT '',  -- the webhook's HMAC key (the worker signs with it)
    min_severity  text NOT NULL CHECK (min_severity IN ('info', 'warning', 'critical')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- An alarm keeps its rule's name, kind and target: deleting the rule leaves the alarm and its history.
CREATE TABLE tenancy.alarms (
    tenant_id        uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    rule_id          uuid NOT NULL,
    rule_name        text NOT NULL,
    kind             text NOT NULL,
    severity         text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    series_id        uuid,
    device_id        uuid,
    state            text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'cleared')),
    raised_ns        bigint NOT NULL,
    value            double precision NOT NULL DEFAULT 0,
    detail           text NOT NULL DEFAULT '',
    acknowledged_ns  bigint,
    acknowledged_by  text,
    cleared_ns       bigint,
    cleared_by       text,
    held             boolean NOT NULL DEFAULT false,  -- raised while flapping: not notified
    PRIMARY KEY (tenant_id, id)
);
-- One open alarm per rule: a condition reported twice raises once.
CREATE UNIQUE INDEX alarms_open_rule ON tenancy.alarms (tenant_id, rule_id) WHERE state <> 'cleared';
CREATE INDEX alarms_newest ON tenancy.alarms (tenant_id, raised_ns DESC);

-- The history of an alarm: raised, acknowledged, cleared, commented; by whom ("user:<id>", "service:worker").
CREATE TABLE tenancy.alarm_events (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    alarm_id    uuid NOT NULL,
    rule_id     uuid NOT NULL,
    at_ns       bigint NOT NULL,
    action      text NOT NULL CHECK (action IN ('raised', 'acknowledged', 'cleared', 'commented')),
    actor       text NOT NULL,
    comment     text NOT NULL DEFAULT '',
    value       double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, alarm_id) REFERENCES tenancy.alarms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_events_alarm ON tenancy.alarm_events (tenant_id, alarm_id, id);
CREATE INDEX alarm_events_rule ON tenancy.alarm_events (tenant_id, rule_id, at_ns);

-- One notification of one alarm event to one endpoint: pending until the worker delivers it or gives up;
-- held (never sent) when the rule was flapping.
CREATE TABLE tenancy.alarm_deliveries (
    tenant_id    uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    alarm_id     uuid NOT NULL,
    event        text NOT NULL CHECK (event IN ('raised', 'cleared')),
    endpoint_id  uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'held')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, alarm_id) REFERENCES tenancy.alarms (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES tenancy.alarm_endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_deliveries_alarm ON tenancy.alarm_deliveries (tenant_id, alarm_id);

ALTER TABLE tenancy.alarm_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_rules FORCE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarms ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarms FORCE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_events FORCE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.alarm_deliveries FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_rows ON tenancy.alarm_rules
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_rows ON tenancy.alarm_endpoints
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_rows ON tenancy.alarms
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_rows ON tenancy.alarm_events
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_rows ON tenancy.alarm_deliveries
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.alarm_rules, tenancy.alarm_endpoints, tenancy.alarms,
    tenancy.alarm_deliveries TO sf_tenancy;
GRANT SELECT, INSERT, DELETE ON tenancy.alarm_events TO sf_tenancy;
