-- Retention announcements (docs/STORAGE.md, "Retention"): nothing is deleted without a week's notice.
--
-- 1. Every retention pass that finds some of a tenant's blocks due within the week records what it
-- announced: blocks ending before deletes_before_ns may be deleted from announced_ns + 7 days on. A pass
-- deletes only up to min(the plan's cutoff now, the bound of the newest announcement made at least
-- 7 days earlier), so a downgrade waits a week, an upgrade deletes less at once. Older announcements than
-- that newest matured one are pruned by the worker; all of them go when nothing is due any more.
-- announced_ns is the pass's "now" (int64 ns), not the database clock, so tests can drive the time.
CREATE TABLE telemetry.retention_announcements (
    tenant_id         uuid NOT NULL,
    announced_ns      bigint NOT NULL,
    deletes_before_ns bigint NOT NULL,
    retention_days    integer NOT NULL CHECK (retention_days > 0),
    PRIMARY KEY (tenant_id, announced_ns)
);
ALTER TABLE telemetry.retention_announcements ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.retention_announcements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.retention_announcements
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, DELETE ON telemetry.retention_announcements TO sf_worker;

-- 2. The notice the tenant sees and is mailed: since when it stands (notice_ns, the first pass that
-- announced it, or the pass that moved its bound materially: a shorter retention), from when deletions
-- under it may happen (effective_ns, a week later), the plan it is under, and notified_at (0009) once
-- tenancy's mail to the owners and admins was accepted. A notice standing when
-- this migration runs counts as announced now (its deletions wait a week like any other; the table of
-- announcements starts empty, so nothing at all is deleted for the first week after the upgrade).
ALTER TABLE telemetry.retention_notices
    ADD COLUMN notice_ns bigint NOT NULL DEFAULT (extract(epoch FROM now()) * 1e9)::bigint,
    ADD COLUMN effective_ns bigint NOT NULL DEFAULT ((extract(epoch FROM now()) + 7 * 86400) * 1e9)::bigint,
    ADD COLUMN plan_code text NOT NULL DEFAULT '';
ALTER TABLE telemetry.retention_notices ALTER COLUMN notice_ns DROP DEFAULT,
    ALTER COLUMN effective_ns DROP DEFAULT;
