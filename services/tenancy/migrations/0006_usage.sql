-- Usage per tenant per day, for quotas, the supplier's billing export and the programme's utilisation checks.
-- Points, bytes and active devices are absolute daily totals reported by ingest (so repeating a report is
-- harmless); API calls are added up from the gateway's counts.
CREATE TABLE tenancy.usage_daily (
    tenant_id      uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    day            date NOT NULL,
    points         bigint NOT NULL DEFAULT 0,
    bytes_stored   bigint NOT NULL DEFAULT 0,
    active_devices integer NOT NULL DEFAULT 0,
    api_calls      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);
ALTER TABLE tenancy.usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_scope ON tenancy.usage_daily
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR tenant_id IN (SELECT t.id FROM tenancy.tenants t
                            WHERE t.supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)
           OR current_setting('app.operator', true) = 'on')
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON tenancy.usage_daily TO sf_tenancy;
