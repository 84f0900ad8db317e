-- The supplier directory and after-service tickets (docs/SUPPORT.md).
--
-- Who sees what (row-level security; the service checks the same first):
--   supplier_profiles  every signed-in caller reads (the directory is public); a supplier writes its own only
--   tenant_levels      the tenant, its supplier, the operator; written for the tenant by the analytics service
--   tickets and events the tenant, and the supplier the ticket is addressed to while the tenant is still its own

CREATE TABLE tenancy.supplier_profiles (
    supplier_id       uuid PRIMARY KEY REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    summary           text NOT NULL DEFAULT '' CHECK (length(summary) <= 2000),
    specialties       text[] NOT NULL DEFAULT '{}',
    industries        text[] NOT NULL DEFAULT '{}',
    regions           text[] NOT NULL DEFAULT '{}',
    certifications    text[] NOT NULL DEFAULT '{}',
    key_staff         jsonb NOT NULL DEFAULT '[]',   -- [{"role": "PLC engineer", "count": 3}]
    client_references jsonb NOT NULL DEFAULT '[]',   -- [{"client": "...", "project": "...", "year": 2025}]
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL DEFAULT ''
);
CREATE INDEX supplier_profiles_specialties ON tenancy.supplier_profiles USING gin (specialties);
CREATE INDEX supplier_profiles_industries ON tenancy.supplier_profiles USING gin (industries);
CREATE INDEX supplier_profiles_regions ON tenancy.supplier_profiles USING gin (regions);
ALTER TABLE tenancy.supplier_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.supplier_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY profile_read ON tenancy.supplier_profiles FOR SELECT USING (true);
CREATE POLICY profile_insert ON tenancy.supplier_profiles FOR INSERT
    WITH CHECK (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
CREATE POLICY profile_update ON tenancy.supplier_profiles FOR UPDATE
    USING (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)
    WITH CHECK (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);

-- The smart-factory level of each tenant per UTC day, as analytics assessed it (the day's last assessment):
-- the directory's level gain is computed from these rows, which only the analytics service writes.
CREATE TABLE tenancy.tenant_levels (
    tenant_id  uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    day        date NOT NULL,
    level      smallint NOT NULL CHECK (level BETWEEN 0 AND 5),
    PRIMARY KEY (tenant_id, day)
);
ALTER TABLE tenancy.tenant_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.tenant_levels FORCE ROW LEVEL SECURITY;
CREATE POLICY level_scope ON tenancy.tenant_levels
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR tenant_id IN (SELECT t.id FROM tenancy.tenants t
                            WHERE t.supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)
           OR current_setting('app.operator', true) = 'on')
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- A tenant asks a supplier from the directory with a message; the supplier accepts or declines. The
-- tenant's name is kept with the request: the asked supplier may not read the tenant's record before it
-- accepts.
ALTER TABLE tenancy.supplier_transfers
    ADD COLUMN tenant_name   text NOT NULL DEFAULT '',
    ADD COLUMN message       text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    ADD COLUMN declined_at   timestamptz,
    ADD COLUMN decided_by    text,
    ADD COLUMN decision_note text NOT NULL DEFAULT '' CHECK (length(decision_note) <= 2000),
    ADD CHECK (accepted_at IS NULL OR declined_at IS NULL);
DROP INDEX tenancy.supplier_transfers_open;
CREATE UNIQUE INDEX supplier_transfers_open ON tenancy.supplier_transfers (tenant_id)
    WHERE accepted_at IS NULL AND declined_at IS NULL;

-- After-service tickets: opened by a tenant to its supplier, with the diagnostic snapshot taken at opening
-- and the plan's service level as due times.
CREATE TABLE tenancy.tickets (
    tenant_id          uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id                 uuid NOT NULL,
    supplier_id        uuid NOT NULL REFERENCES tenancy.suppliers (id),
    subject            text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body               text NOT NULL CHECK (length(body) <= 10000),
    status             text NOT NULL
        CHECK (status IN ('open', 'in_progress', 'waiting_on_customer', 'resolved', 'closed')),
    opened_by          text NOT NULL,
    snapshot           jsonb NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    response_due_at    timestamptz,          -- NULL: the plan promises no service level
    resolution_due_at  timestamptz,
    first_response_at  timestamptz,          -- the supplier's first comment or status change
    resolved_at        timestamptz,          -- the last move to resolved (cleared when reopened)
    closed_at          timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tickets_newest ON tenancy.tickets (tenant_id, created_at DESC);
CREATE INDEX tickets_supplier ON tenancy.tickets (supplier_id, created_at DESC);

CREATE TABLE tenancy.ticket_events (
    tenant_id    uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    ticket_id    uuid NOT NULL,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor        text NOT NULL,
    side         text NOT NULL CHECK (side IN ('customer', 'supplier')),
    kind         text NOT NULL CHECK (kind IN ('opened', 'comment', 'status')),
    body         text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    from_status  text,
    to_status    text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tenancy.tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_events_ticket ON tenancy.ticket_events (tenant_id, ticket_id, id);

ALTER TABLE tenancy.tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY ticket_scope ON tenancy.tickets
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
               AND tenant_id IN (SELECT t.id FROM tenancy.tenants t
                                 WHERE t.supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)));

ALTER TABLE tenancy.ticket_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.ticket_events FORCE ROW LEVEL SECURITY;
-- An event is visible, and may be added, where its ticket is (the subquery is itself row-level secured).
CREATE POLICY ticket_event_scope ON tenancy.ticket_events
    USING ((tenant_id, ticket_id) IN (SELECT k.tenant_id, k.id FROM tenancy.tickets k));

GRANT SELECT, INSERT, UPDATE ON tenancy.supplier_profiles, tenancy.tenant_levels, tenancy.tickets TO sf_tenancy;
GRANT SELECT, INSERT ON tenancy.ticket_events TO sf_tenancy;
