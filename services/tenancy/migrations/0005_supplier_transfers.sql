-- A tenant moves to another supplier with both sides' consent: its owner asks, the new supplier accepts.
CREATE TABLE tenancy.supplier_transfers (
    tenant_id     uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    from_supplier uuid REFERENCES tenancy.suppliers (id),
    to_supplier   uuid NOT NULL REFERENCES tenancy.suppliers (id),
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX supplier_transfers_open ON tenancy.supplier_transfers (tenant_id) WHERE accepted_at IS NULL;
ALTER TABLE tenancy.supplier_transfers ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.supplier_transfers FORCE ROW LEVEL SECURITY;
CREATE POLICY transfer_scope ON tenancy.supplier_transfers
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR to_supplier = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR from_supplier = nullif(current_setting('app.supplier_id', true), '')::uuid
           OR current_setting('app.operator', true) = 'on')
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.supplier_transfers TO sf_tenancy;
