-- The control plane: plans, tenants, users, memberships, the asset tree, series and devices.
-- Every table that holds a tenant's rows carries tenant_id and is guarded by
-- row-level security (enabled and forced); every unique key includes tenant_id.
CREATE SCHEMA tenancy;

CREATE TABLE tenancy.plans (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    quotas      jsonb NOT NULL,
    features    jsonb NOT NULL
);

-- Suppliers (system integrators) resell tenants; the directory is public.
CREATE TABLE tenancy.suppliers (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenancy.tenants (
    id          uuid PRIMARY KEY,
    supplier_id uuid REFERENCES tenancy.suppliers (id),
    name        text NOT NULL,
    slug        text NOT NULL UNIQUE,
    plan_code   text NOT NULL REFERENCES tenancy.plans (code),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenancy.users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL,
    password_hash     text NOT NULL,
    display_name      text NOT NULL,
    platform_operator boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON tenancy.users (lower(email));

CREATE TABLE tenancy.memberships (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES tenancy.users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON tenancy.memberships (user_id);

CREATE TABLE tenancy.assets (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    parent_id   uuid,
    kind        text NOT NULL CHECK (kind IN ('site', 'area', 'line', 'machine')),
    name        text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES tenancy.assets (tenant_id, id)
);
CREATE UNIQUE INDEX assets_name_key ON tenancy.assets (tenant_id, coalesce(parent_id, tenant_id), name);

CREATE TABLE tenancy.series (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    machine_id  uuid NOT NULL,
    name        text NOT NULL,
    unit        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('gauge', 'counter', 'state')),
    decimals    smallint NOT NULL DEFAULT 2,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, machine_id, name),
    FOREIGN KEY (tenant_id, machine_id) REFERENCES tenancy.assets (tenant_id, id)
);

-- A device credential is "sfd_<prefix>_<secret>": the random prefix finds the
-- row, the SHA-256 of the whole credential proves it.
CREATE TABLE tenancy.devices (
    tenant_id         uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id                uuid NOT NULL,
    name              text NOT NULL,
    credential_prefix text NOT NULL UNIQUE,
    credential_hash   bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Row-level security: the second wall behind the service's own checks.
ALTER TABLE tenancy.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenancy.tenants
    USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR id IN (SELECT m.tenant_id FROM tenancy.memberships m))
    WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE tenancy.memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.memberships FORCE ROW LEVEL SECURITY;
-- A user logging in sees their own memberships (app.user_id), nothing else.
CREATE POLICY membership_scope ON tenancy.memberships
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR user_id = nullif(current_setting('app.user_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE tenancy.assets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.assets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tenancy.assets
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE tenancy.series ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.series FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tenancy.series
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE tenancy.devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.devices FORCE ROW LEVEL SECURITY;
-- Device authentication happens before the tenant is known: the lookup sees
-- exactly the row whose prefix it asks for (app.credential_prefix).
CREATE POLICY tenant_rows ON tenancy.devices
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR credential_prefix = nullif(current_setting('app.credential_prefix', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

GRANT USAGE ON SCHEMA tenancy TO sf_tenancy;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tenancy TO sf_tenancy;
