-- Invitations onto a supplier's staff, kept with the invitations into a tenant: CreateSupplierUser by an email
-- that already has an account invites that account (an expiring, single-use token by mail), as CreateUser
-- does, instead of telling the caller the email is taken (RELIABILITY I4). A row is a tenant's or a
-- supplier's, never both; the key is the random id alone, as tenant_id is now empty on a supplier's rows.
--
-- Who sees what (row-level security, enabled and forced since 0003):
--   app.tenant_id    the tenant's own invitations
--   app.supplier_id  the supplier's own invitations onto its staff (never its tenants')
--   app.invitation   the one invitation whose token hash it holds: accepting happens before either is known
ALTER TABLE tenancy.invitations DROP CONSTRAINT invitations_pkey;
ALTER TABLE tenancy.invitations ADD PRIMARY KEY (id);
CREATE INDEX invitations_tenant ON tenancy.invitations (tenant_id, created_at DESC, id);
ALTER TABLE tenancy.invitations
    ALTER COLUMN tenant_id DROP NOT NULL,
    ADD COLUMN supplier_id uuid REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    ADD CONSTRAINT invitations_one_owner CHECK ((tenant_id IS NULL) <> (supplier_id IS NULL)),
    DROP CONSTRAINT invitations_role_check,
    ADD CONSTRAINT invitations_role_check CHECK (
        CASE WHEN supplier_id IS NULL THEN role IN ('owner', 'admin', 'operator', 'viewer')
             ELSE role IN ('admin', 'staff') END);

DROP POLICY tenant_rows ON tenancy.invitations;
CREATE POLICY invitation_scope ON tenancy.invitations
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR encode(token_hash, 'hex') = nullif(current_setting('app.invitation', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
                OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
