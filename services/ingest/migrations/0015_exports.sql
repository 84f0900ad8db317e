-- Exports (docs/DATA-MODEL.md): a tenant's packages of its asset tree, series and points, made by the
-- worker. One row per export, on the tenant's cell beside its telemetry; the row is the progress the
-- tenant sees (state, points done of the total) and, once done, where the package lies under
-- SF_EXPORT_DIR (`{tenant_id}/{id}.zip`), its size and SHA-256. The job itself travels in the Redis
-- stream `export:jobs` (services/worker/export_queue.py); the row is the truth about it.
CREATE TABLE telemetry.exports (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    with_csv     boolean NOT NULL DEFAULT false,
    requested_by text NOT NULL DEFAULT '',
    points_done  bigint NOT NULL DEFAULT 0,
    points_total bigint NOT NULL DEFAULT 0,
    series_done  integer NOT NULL DEFAULT 0,
    series_total integer NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0,
    sha256       text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE telemetry.exports ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.exports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.exports
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE ON telemetry.exports TO sf_worker;
-- Offboarding deletes every telemetry row of a purged tenant (RELIABILITY I8), its exports included.
GRANT SELECT, DELETE ON telemetry.exports TO sf_ingest;
