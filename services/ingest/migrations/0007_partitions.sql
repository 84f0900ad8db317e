-- telemetry.blocks becomes range-partitioned on start_ns (int64 ns since the epoch), one partition a week,
-- plus a DEFAULT partition for whatever falls outside the prepared weeks (points may go back to 1970 and
-- up to one day ahead: an insert never fails for want of a partition).
--
-- Why a week: ingest writes near "now", so a batch touches one partition (two at a boundary); a year is
-- 52 partitions, few enough that planning and pruning stay cheap, and a partition of a busy cell stays a
-- size that VACUUM and index builds handle in one go; retention drops a whole week at a time, fine for
-- retention periods counted in months. Weeks start on Monday 00:00 UTC; a partition is named after its
-- first day (telemetry.blocks_p20261123).
--
-- Partitions are created ahead of time by telemetry.ensure_partitions, which `sf migrate` calls on every
-- run (a week back, four weeks ahead) and the worker is to call on a schedule; retention drops old ones
-- elsewhere (services/ingest/partitions.py lists them). Where TimescaleDB is installed this table would be
-- a hypertable instead: that path is not built (docs/STORAGE.md, "Partitions").
--
-- Every partition carries the parent's row-level security (enabled and forced), its policies and its
-- grants, so a partition reached directly is as closed as the parent (RELIABILITY I2).

-- 1. The old table steps aside; the owner reads it past its own forced policy only to move the rows.
ALTER TABLE telemetry.blocks RENAME TO blocks_unpartitioned;
ALTER INDEX telemetry.blocks_pkey RENAME TO blocks_unpartitioned_pkey;
ALTER INDEX telemetry.blocks_series_end RENAME TO blocks_unpartitioned_series_end;
ALTER TABLE telemetry.blocks_unpartitioned NO FORCE ROW LEVEL SECURITY;

-- 2. The partitioned table, same columns in the same order. Access paths: one series over a time range
-- uses the primary key (tenant_id, series_id, start_ns, ...), which holds the partition key as it must;
-- the latest block of each series uses blocks_series_end.
CREATE TABLE telemetry.blocks (
    tenant_id   uuid NOT NULL,
    series_id   uuid NOT NULL,
    start_ns    bigint NOT NULL,           -- first (smallest) timestamp in the block: the partition key
    end_ns      bigint NOT NULL,           -- last (largest) timestamp in the block
    id          bigint GENERATED ALWAYS AS IDENTITY,
    count       integer NOT NULL CHECK (count > 0),
    min_value   double precision NOT NULL,
    max_value   double precision NOT NULL,
    sum_value   double precision NOT NULL,
    first_value double precision NOT NULL,
    last_value  double precision NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, series_id, start_ns, id),
    CHECK (end_ns >= start_ns)
) PARTITION BY RANGE (start_ns);
CREATE INDEX blocks_series_end ON telemetry.blocks (tenant_id, series_id, end_ns DESC);

ALTER TABLE telemetry.blocks ENABLE ROW LEVEL SECURITY;  -- forced at the end, once the rows are moved
CREATE POLICY tenant_rows ON telemetry.blocks
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON telemetry.blocks TO sf_ingest;
GRANT SELECT ON telemetry.blocks TO sf_analytics;

-- 3. What each partition gets from the parent: row-level security enabled and forced, the same policies,
-- the same grants (read from the catalog, so a later grant on the parent reaches new partitions too).
CREATE FUNCTION telemetry.secure_partition(part regclass) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p record;
    g record;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part);
    FOR p IN SELECT * FROM pg_policies WHERE schemaname = 'telemetry' AND tablename = 'blocks' LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = part AND polname = p.policyname);
        EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', p.policyname, part, p.permissive, p.cmd,
                       (SELECT string_agg(quote_ident(r), ', ') FROM unnest(p.roles) AS r))
             || coalesce(' USING (' || p.qual || ')', '')
             || coalesce(' WITH CHECK (' || p.with_check || ')', '');
    END LOOP;
    FOR g IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) AS a
             WHERE c.oid = 'telemetry.blocks'::regclass AND a.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON %s TO %s', g.privilege_type, part,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
    END LOOP;
END $$;

-- 4. The weekly partitions covering [from_ns, to_ns] that are missing, and the DEFAULT partition. Rows
-- that the DEFAULT partition already holds for a new week move into it (PostgreSQL refuses a partition
-- whose rows the DEFAULT one holds). Runs as the owner, never as an application role; returns how many
-- partitions it created. Idempotent, and serialised by a transaction-level advisory lock.
CREATE FUNCTION telemetry.ensure_partitions(from_ns bigint, to_ns bigint) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    week   constant bigint := 7 * 86400 * 1000000000::bigint;
    monday constant bigint := 4 * 86400 * 1000000000::bigint;  -- 1970-01-01 was a Thursday
    lo      bigint;
    name    text;
    created integer := 0;
BEGIN
    IF to_ns < from_ns OR (to_ns - from_ns) / week > 520 THEN
        RAISE EXCEPTION 'ensure_partitions: % .. % is not a range of at most ten years', from_ns, to_ns;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('telemetry.ensure_partitions'));
    IF to_regclass('telemetry.blocks_default') IS NULL THEN
        CREATE TABLE telemetry.blocks_default PARTITION OF telemetry.blocks DEFAULT;
        PERFORM telemetry.secure_partition('telemetry.blocks_default');
        created := created + 1;
    END IF;
    lo := monday + ((from_ns - monday) / week) * week;
    IF lo > from_ns THEN
        lo := lo - week;  -- division truncates toward zero: before 1970-01-05 step back a week
    END IF;
    WHILE lo <= to_ns LOOP
        name := 'blocks_p' || to_char(to_timestamp(lo / 1000000000) AT TIME ZONE 'UTC', 'YYYYMMDD');
        IF to_regclass('telemetry.' || name) IS NULL THEN
            EXECUTE format('CREATE TABLE telemetry.%I (LIKE telemetry.blocks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            ALTER TABLE telemetry.blocks_default NO FORCE ROW LEVEL SECURITY;  -- the owner must see the rows
            EXECUTE format('WITH moved AS (DELETE FROM telemetry.blocks_default WHERE start_ns >= $1 AND start_ns < $2'
                           ' RETURNING *) INSERT INTO telemetry.%I SELECT * FROM moved', name) USING lo, lo + week;
            ALTER TABLE telemetry.blocks_default FORCE ROW LEVEL SECURITY;
            EXECUTE format('ALTER TABLE telemetry.blocks ATTACH PARTITION telemetry.%I FOR VALUES FROM (%s) TO (%s)',
                           name, lo, lo + week);
            PERFORM telemetry.secure_partition(format('telemetry.%I', name)::regclass);
            created := created + 1;
        END IF;
        lo := lo + week;
    END LOOP;
    RETURN created;
END $$;
REVOKE EXECUTE ON FUNCTION telemetry.secure_partition(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION telemetry.ensure_partitions(bigint, bigint) FROM PUBLIC;

-- 5. Partitions from two weeks back to four ahead, then the rows (older or newer ones land in DEFAULT),
-- with their ids, and the identity carries on after the largest.
SELECT telemetry.ensure_partitions(
    (extract(epoch FROM now()) * 1000000000)::bigint - 14 * 86400 * 1000000000::bigint,
    (extract(epoch FROM now()) * 1000000000)::bigint + 28 * 86400 * 1000000000::bigint);
INSERT INTO telemetry.blocks OVERRIDING SYSTEM VALUE SELECT * FROM telemetry.blocks_unpartitioned;
SELECT setval(pg_get_serial_sequence('telemetry.blocks', 'id'),
              coalesce((SELECT max(id) FROM telemetry.blocks_unpartitioned), 0) + 1, false);
DROP TABLE telemetry.blocks_unpartitioned;
ALTER TABLE telemetry.blocks FORCE ROW LEVEL SECURITY;
