-- A block's payload in two columns: its whole TOAST chunks out of line, the rest in the row.
--
-- Why: TOAST cuts a value into chunks of 1,996 bytes (8 KB pages) and fills its pages in write order. An
-- hour of a 1 Hz series is ~2.8 KB: one full chunk and one of ~0.8 KB, and pages filled in that order
-- hold only 2.5 payloads, so a compacted block cost ~1.35x its payload. Writers now split the payload
-- (services/runtime/blocks.py): `payload_chunks` holds the longest prefix that is a whole number of
-- chunks (STORAGE EXTERNAL: always out of line, never pglz-compressed, as tscodec output does not
-- compress), whose chunks fill TOAST pages four to a page; `payload_rest` holds the remainder (STORAGE
-- MAIN: kept in the row, which pages pack like any row). Readers read `payload_chunks || payload_rest`.
--
-- Rows written before this migration keep their whole payload in `payload_chunks` with an empty rest:
-- the concatenation reads them unchanged. Renaming a column and adding one with a constant default
-- rewrites nothing; SET STORAGE recurses to the existing partitions and only changes how new rows are
-- stored. New weeks are made LIKE the parent without its storage, so secure_partition (which every new
-- partition passes through) now copies the parent's column storage as well.
ALTER TABLE telemetry.blocks RENAME COLUMN payload TO payload_chunks;
ALTER TABLE telemetry.blocks ADD COLUMN payload_rest bytea NOT NULL DEFAULT ''::bytea;
ALTER TABLE telemetry.blocks ALTER COLUMN payload_chunks SET STORAGE EXTERNAL;
ALTER TABLE telemetry.blocks ALTER COLUMN payload_rest SET STORAGE MAIN;

ALTER FUNCTION telemetry.secure_partition(regclass) RENAME TO secure_partition_access;

CREATE FUNCTION telemetry.secure_partition(part regclass) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a record;
BEGIN
    PERFORM telemetry.secure_partition_access(part);
    FOR a IN SELECT parent.attname, parent.attstorage
             FROM pg_attribute parent JOIN pg_attribute child ON child.attname = parent.attname
             WHERE parent.attrelid = 'telemetry.blocks'::regclass AND child.attrelid = part
               AND parent.attnum > 0 AND NOT parent.attisdropped AND child.attstorage <> parent.attstorage LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', part, a.attname,
                       CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL'
                                         WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION telemetry.secure_partition(regclass) FROM PUBLIC;
