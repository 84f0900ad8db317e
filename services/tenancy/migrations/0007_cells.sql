-- Cells: a credential being checked may read its own tenant's record (for the tenant's cell), nothing more.
DROP POLICY tenant_scope ON tenancy.tenants;
CREATE POLICY tenant_scope ON tenancy.tenants
    USING (id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR id IN (SELECT m.tenant_id FROM tenancy.memberships m)
           OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR current_setting('app.operator', true) = 'on'
           OR id IN (SELECT d.tenant_id FROM tenancy.devices d
                     WHERE d.credential_prefix = nullif(current_setting('app.credential_prefix', true), ''))
           OR id IN (SELECT k.tenant_id FROM tenancy.api_keys k
                     WHERE k.prefix = nullif(current_setting('app.credential_prefix', true), '')))
    WITH CHECK (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
