-- Exports of a grant by a supplier grantee (docs/SHARING.md, "Exporting a grant"): the grantor's supplier or
-- a registered AI-analysis partner. A supplier has no telemetry and no cell of its own, so its export row
-- lives with the data it was made from: `tenant_id` is the grantor, on the grantor's cell (offboarding the
-- grantor deletes it with the rest), and `grantee_supplier_id` names the supplier that owns it.
--
-- Row-level security keeps the row the supplier's alone:
--   app.supplier_id  the supplier sees and writes its rows (the worker, for the supplier's staff)
--   app.tenant_id    a tenant sees its own exports only: never a supplier's export of its grant (the grantor
--                    sees that export in the grant's access log, nothing more)
--   sf_ingest        offboarding a tenant sees every export row of it, to delete them
ALTER TABLE telemetry.exports ADD COLUMN grantee_supplier_id uuid;
CREATE INDEX exports_grantee_supplier ON telemetry.exports (grantee_supplier_id, created_at DESC, id DESC)
    WHERE grantee_supplier_id IS NOT NULL;

DROP POLICY tenant_rows ON telemetry.exports;
CREATE POLICY tenant_rows ON telemetry.exports
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           AND grantee_supplier_id IS NULL);
CREATE POLICY supplier_rows ON telemetry.exports
    USING (grantee_supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
CREATE POLICY offboarding_rows ON telemetry.exports FOR ALL TO sf_ingest
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- A supplier's export is always of a grant: never of the grantor's whole data.
ALTER TABLE telemetry.exports ADD CONSTRAINT exports_supplier_needs_grant
    CHECK (grantee_supplier_id IS NULL OR grant_id IS NOT NULL);
