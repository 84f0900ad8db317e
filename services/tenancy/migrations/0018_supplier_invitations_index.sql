-- A supplier's open invitations onto its staff, newest first (ListSupplierInvitations), as a tenant's are
-- read through invitations_tenant (0017): an index step, not a scan of every tenant's invitations.
CREATE INDEX invitations_supplier ON tenancy.invitations (supplier_id, created_at DESC, id)
    WHERE supplier_id IS NOT NULL;
