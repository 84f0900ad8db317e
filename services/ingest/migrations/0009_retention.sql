-- Retention (docs/STORAGE.md, "Retention").
--
-- 1. The worker (sf_worker) records, per tenant, what its next retention passes will delete within a
-- week, so the web app can warn the tenant before it happens. One row per tenant, scoped like every
-- tenant table (row-level security enabled and forced). notified_at stays NULL until an email is sent
-- (not built: tenancy has no RPC to mail a tenant's owners yet).
CREATE TABLE telemetry.retention_notices (
    tenant_id         uuid PRIMARY KEY,
    deletes_before_ns bigint NOT NULL,  -- blocks ending before this go within the week (cutoff in 7 days)
    oldest_end_ns     bigint NOT NULL,  -- the oldest such block's end: its data is the first to go
    retention_days    integer NOT NULL CHECK (retention_days > 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    notified_at       timestamptz
);
ALTER TABLE telemetry.retention_notices ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.retention_notices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.retention_notices
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON telemetry.retention_notices TO sf_worker;
GRANT SELECT ON telemetry.retention_notices TO sf_analytics;

-- 2. Whole weekly partitions that end at or before cutoff_ns are dropped (DEFAULT never is). Only the
-- owner runs it (`sf storage maintain`), never an application role: it is SECURITY INVOKER and nobody
-- else may execute it. The caller passes a cutoff every tenant allows (now minus the longest retention
-- of any plan). Serialised with ensure_partitions by the same advisory lock. Returns the dropped names.
CREATE FUNCTION telemetry.drop_partitions_before(cutoff_ns bigint) RETURNS SETOF text
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p    record;
    name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('telemetry.ensure_partitions'));
    FOR p IN SELECT c.oid::regclass AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'telemetry.blocks'::regclass LOOP
        CONTINUE WHEN p.bound = 'DEFAULT';
        IF substring(p.bound FROM 'TO \(''?(-?\d+)''?\)')::bigint <= cutoff_ns THEN
            name := p.part::text;  -- before the drop: afterwards the oid names nothing
            EXECUTE format('DROP TABLE %s', name);
            RETURN NEXT name;
        END IF;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION telemetry.drop_partitions_before(bigint) FROM PUBLIC;
