-- The worker (role sf_worker) compacts blocks: reads a series' blocks of one hour, deletes them and inserts
-- the merged ones in one transaction, scoped to the tenant like every other (row-level security stays forced).
GRANT USAGE ON SCHEMA telemetry TO sf_worker;
GRANT SELECT, INSERT, DELETE ON telemetry.blocks TO sf_worker;
