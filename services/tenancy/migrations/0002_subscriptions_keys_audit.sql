-- Suppliers' staff, subscriptions and their states, API keys, device revocation, the audit log.
--
-- Who sees what (row-level security; the service checks the same first):
--   app.tenant_id    a tenant's own rows
--   app.supplier_id  a supplier's own record, its tenants' metadata and subscriptions, never their data
--   app.operator     'on' for the platform operator: metadata of every tenant and supplier, never their data

ALTER TABLE tenancy.suppliers
    ADD COLUMN description   text NOT NULL DEFAULT '',
    ADD COLUMN website       text NOT NULL DEFAULT '',
    ADD COLUMN contact_email text NOT NULL DEFAULT '';

CREATE TABLE tenancy.supplier_members (
    supplier_id uuid NOT NULL REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES tenancy.users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('admin', 'staff')),
    PRIMARY KEY (supplier_id, user_id)
);
CREATE INDEX supplier_members_user ON tenancy.supplier_members (user_id);

ALTER TABLE tenancy.supplier_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.supplier_members FORCE ROW LEVEL SECURITY;
CREATE POLICY supplier_member_scope ON tenancy.supplier_members
    USING (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR user_id = nullif(current_setting('app.user_id', true), '')::uuid
           OR current_setting('app.operator', true) = 'on');

-- A tenant's subscription: one row per tenant, its plan and its state.
CREATE TABLE tenancy.subscriptions (
    tenant_id        uuid PRIMARY KEY REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    plan_code        text NOT NULL REFERENCES tenancy.plans (code),
    state            text NOT NULL CHECK (state IN ('trial', 'active', 'past_due', 'suspended', 'cancelled')),
    trial_ends_at    timestamptz,
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    purge_after      timestamptz
);
ALTER TABLE tenancy.subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.subscriptions FORCE ROW LEVEL SECURITY;

-- The tenants table widens: its supplier and the operator see its metadata too.
DROP POLICY tenant_self ON tenancy.tenants;
CREATE POLICY tenant_scope ON tenancy.tenants
    USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR id IN (SELECT m.tenant_id FROM tenancy.memberships m)
           OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR current_setting('app.operator', true) = 'on')
    WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE INDEX tenants_supplier ON tenancy.tenants (supplier_id, name, id);
ALTER TABLE tenancy.tenants ADD COLUMN cell text NOT NULL DEFAULT 'default';

-- API keys: "sfk_<prefix>_<secret><checksum>"; the prefix finds the row, a SHA-256 proves the key.
CREATE TABLE tenancy.api_keys (
    tenant_id    uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    name         text NOT NULL,
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL,
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'ingest'] AND cardinality(scopes) > 0),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
ALTER TABLE tenancy.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tenancy.api_keys
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR prefix = nullif(current_setting('app.credential_prefix', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
                OR prefix = nullif(current_setting('app.credential_prefix', true), ''));

-- Subscriptions: the tenant, its members, its supplier, the operator, and the credential being checked.
CREATE POLICY subscription_scope ON tenancy.subscriptions
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR tenant_id IN (SELECT m.tenant_id FROM tenancy.memberships m)
           -- a device or API key being authenticated: its own tenant's state, nothing more
           OR tenant_id IN (SELECT d.tenant_id FROM tenancy.devices d
                            WHERE d.credential_prefix = nullif(current_setting('app.credential_prefix', true), ''))
           OR tenant_id IN (SELECT k.tenant_id FROM tenancy.api_keys k
                            WHERE k.prefix = nullif(current_setting('app.credential_prefix', true), ''))
           OR tenant_id IN (SELECT t.id FROM tenancy.tenants t
                            WHERE t.supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)
           OR current_setting('app.operator', true) = 'on');

ALTER TABLE tenancy.devices
    ADD COLUMN revoked_at    timestamptz,
    ADD COLUMN rotated_at    timestamptz;

-- The audit log: append-only. Rows are deleted only when their tenant is purged.
CREATE TABLE tenancy.audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid,                       -- NULL for platform events (e.g. a failed login of an unknown email)
    supplier_id uuid,                       -- the supplier who acted, or the tenant's supplier
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind  text NOT NULL,              -- user, api_key, device, service
    actor_id    text NOT NULL,
    action      text NOT NULL,              -- e.g. tenant.create, subscription.suspend, api_key.use, login.fail
    target      text NOT NULL DEFAULT '',
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    source      text NOT NULL DEFAULT '',   -- where from: an IP address or a service name
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_tenant_at ON tenancy.audit_log (tenant_id, at DESC);
CREATE INDEX audit_supplier_at ON tenancy.audit_log (supplier_id, at DESC);
ALTER TABLE tenancy.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_read ON tenancy.audit_log FOR SELECT
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR current_setting('app.operator', true) = 'on');
CREATE POLICY audit_append ON tenancy.audit_log FOR INSERT WITH CHECK (true);
CREATE POLICY audit_purge ON tenancy.audit_log FOR DELETE
    USING (tenant_id = nullif(current_setting('app.purging', true), '')::uuid);

REVOKE UPDATE ON tenancy.audit_log FROM sf_tenancy;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.supplier_members, tenancy.subscriptions, tenancy.api_keys TO sf_tenancy;
GRANT SELECT, INSERT, DELETE ON tenancy.audit_log TO sf_tenancy;

-- Subscriptions for tenants made before this migration: active on their plan, which now lives
-- only in the subscription (run as the operator so row-level security lets the copy see every tenant).
SELECT set_config('app.operator', 'on', true);
INSERT INTO tenancy.subscriptions (tenant_id, plan_code, state)
SELECT id, plan_code, 'active' FROM tenancy.tenants ON CONFLICT DO NOTHING;
ALTER TABLE tenancy.tenants DROP COLUMN plan_code;
