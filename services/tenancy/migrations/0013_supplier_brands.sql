-- A supplier's brand: what its tenants see instead of sfcloud (product name, logo, colours) and the
-- domain it serves them on (docs/DEPLOY.md: custom domains). The service validates first (hex colours with
-- WCAG AA contrast, PNG or JPEG logos by their bytes); the checks here are the last line.
--
-- Who sees what (row-level security):
--   anyone reads a brand: it is what the supplier shows every visitor of its domain, signed in or not
--   only the supplier itself (app.supplier_id) writes its own
CREATE TABLE tenancy.supplier_brands (
    supplier_id    uuid PRIMARY KEY REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    product_name   text NOT NULL CHECK (length(product_name) BETWEEN 1 AND 60),
    primary_colour text NOT NULL CHECK (primary_colour ~ '^#[0-9a-f]{6}$'),
    accent_colour  text NOT NULL CHECK (accent_colour ~ '^#[0-9a-f]{6}$'),
    logo           bytea CHECK (length(logo) <= 102400),
    logo_type      text CHECK (logo_type IN ('image/png', 'image/jpeg')),
    domain         text CHECK (domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' AND length(domain) <= 253),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text NOT NULL,
    CHECK ((logo IS NULL) = (logo_type IS NULL))
);
CREATE UNIQUE INDEX supplier_brands_domain ON tenancy.supplier_brands (domain) WHERE domain IS NOT NULL;
ALTER TABLE tenancy.supplier_brands ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.supplier_brands FORCE ROW LEVEL SECURITY;
CREATE POLICY brand_read ON tenancy.supplier_brands FOR SELECT USING (true);
CREATE POLICY brand_insert ON tenancy.supplier_brands FOR INSERT
    WITH CHECK (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
CREATE POLICY brand_update ON tenancy.supplier_brands FOR UPDATE
    USING (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid)
    WITH CHECK (supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON tenancy.supplier_brands TO sf_tenancy;
