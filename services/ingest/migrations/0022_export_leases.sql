-- Exports survive the loss of their Redis entries (RELIABILITY D6): PostgreSQL is the truth for every job.
--
-- 1. A worker takes an export by a conditional UPDATE that sets a lease (`lease_id`, the run's own id, and
-- `lease_until`), and renews it while it works: a row 'queued', or 'running' with an expired lease, can be
-- taken; one 'running' under a live lease cannot, so a second entry for the same export (the sweep's, or a
-- duplicate) never starts it twice at once. Progress and the end are written only under the run's own
-- lease. Rows running before this migration have no lease: they count as expired.
ALTER TABLE telemetry.exports ADD COLUMN lease_id uuid;
ALTER TABLE telemetry.exports ADD COLUMN lease_until timestamptz;

-- 2. The worker's sweep (services/worker/export_sweep.py) finds, on each cell, the exports still to do that
-- no worker holds, of every tenant and supplier at once, and puts their entries back in the stream. It reads
-- them in a transaction that sets `app.export_sweep`, which shows the worker the unfinished rows only (ids,
-- state and progress: never telemetry, as the mail outbox's sender sees its rows), read-only: taking one
-- still needs the tenant's or the supplier's scope. The partial index holds the unfinished rows only.
CREATE POLICY export_sweep ON telemetry.exports FOR SELECT TO sf_worker
    USING (current_setting('app.export_sweep', true) = 'on' AND state IN ('queued', 'running'));
CREATE INDEX exports_to_do ON telemetry.exports (created_at) WHERE state IN ('queued', 'running');
