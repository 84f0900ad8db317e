-- The worker (role sf_worker) compacts blocks: reads a series' blocks of one hour, deletes them and inserts
-- the merged ones in one transaction, scoped to the tenant like every other (row-level security stays forced).
GRANT USAGE ON SCHEMA telemetry TO sf_worker;
GRANT SELECT, INSERT, DELETE ON telemetry.blocks TO sf_worker;
-- The partitions made before this grant get it too (new ones copy the parent's grants when created).
SELECT telemetry.secure_partition(inhrelid::regclass) FROM pg_inherits
WHERE inhparent = 'telemetry.blocks'::regclass;
