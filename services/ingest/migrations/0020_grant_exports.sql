-- Exports of a grant by its grantee (docs/SHARING.md, "Exporting a grant"): the row belongs to the grantee
-- tenant, on its cell, like its own exports (row-level security: only the grantee sees it; the grantor
-- sees the export in the grant's access log only). `grant_id` names the grant exported; NULL for an export
-- of the tenant's own data.
ALTER TABLE telemetry.exports ADD COLUMN grant_id uuid;
