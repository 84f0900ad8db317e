-- Consent-based data sharing (docs/SHARING.md): a tenant (the grantor, tenant_id) grants another tenant or a
-- supplier read access to chosen series, a time range and an aggregation level, for a purpose, until an
-- expiry date.
--
-- Who sees what (row-level security; the service checks the same first):
--   data_grants   the grantor (app.tenant_id) reads and writes its grants; the grantee tenant
--                 (app.tenant_id) or supplier (app.supplier_id) reads the grants given to it, never writes
--   tenants       a grantor looking up a grantee sees exactly the row it asks for (app.grantee_lookup)

CREATE TABLE tenancy.data_grants (
    tenant_id           uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    grantor_name        text NOT NULL,
    grantee_tenant_id   uuid REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    grantee_supplier_id uuid REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    grantee_name        text NOT NULL,
    grantee_partner     boolean NOT NULL DEFAULT false,  -- a registered AI-analysis partner when granted
    series_ids          uuid[] NOT NULL CHECK (cardinality(series_ids) BETWEEN 1 AND 1000),
    series_labels       jsonb NOT NULL,                   -- [{"id", "name", "unit", "machine"}] as granted
    start_ns            bigint NOT NULL CHECK (start_ns >= 0),
    end_ns              bigint NOT NULL,
    granularity         text NOT NULL CHECK (granularity IN ('raw', '1m', '1h')),
    purpose             text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 500),
    expires_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL,
    revoked_at          timestamptz,
    revoked_by          text,
    PRIMARY KEY (tenant_id, id),
    CHECK (end_ns > start_ns),
    CHECK (num_nonnulls(grantee_tenant_id, grantee_supplier_id) = 1),
    CHECK (grantee_tenant_id IS DISTINCT FROM tenant_id)
);
-- A grantee names a grant by its id alone (it does not read the grantor's records).
CREATE UNIQUE INDEX data_grants_id ON tenancy.data_grants (id);
CREATE INDEX data_grants_given ON tenancy.data_grants (tenant_id, created_at DESC);
CREATE INDEX data_grants_to_tenant ON tenancy.data_grants (grantee_tenant_id, created_at DESC)
    WHERE grantee_tenant_id IS NOT NULL;
CREATE INDEX data_grants_to_supplier ON tenancy.data_grants (grantee_supplier_id, created_at DESC)
    WHERE grantee_supplier_id IS NOT NULL;

ALTER TABLE tenancy.data_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.data_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY grant_read ON tenancy.data_grants FOR SELECT
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR grantee_tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR grantee_supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
CREATE POLICY grant_give ON tenancy.data_grants FOR INSERT
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY grant_revoke ON tenancy.data_grants FOR UPDATE
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON tenancy.data_grants TO sf_tenancy;

-- A grantor names its grantee by id: the lookup sees that one tenant's record (its name), nothing else.
CREATE POLICY tenant_grantee_lookup ON tenancy.tenants FOR SELECT
    USING (id = nullif(current_setting('app.grantee_lookup', true), '')::uuid);

-- Suppliers the platform operator registered as AI-analysis partners: any tenant may grant them data.
ALTER TABLE tenancy.suppliers ADD COLUMN analysis_partner boolean NOT NULL DEFAULT false;

-- A grant's history (its grant, reads and revocation) is read from the audit log by target.
CREATE INDEX audit_target ON tenancy.audit_log (tenant_id, target, id DESC);
