-- Idempotent batches: per device and client session, the highest batch number stored. A batch at or below
-- it is a retry of one already committed: acknowledged again, stored nothing. Updated in the same statement
-- as the blocks, so "stored" and "counted as stored" can never disagree.
CREATE TABLE telemetry.ingest_sessions (
    tenant_id     uuid NOT NULL,
    device_id     uuid NOT NULL,
    session_id    uuid NOT NULL,
    last_batch_no bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, device_id, session_id)
);
ALTER TABLE telemetry.ingest_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE telemetry.ingest_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON telemetry.ingest_sessions
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON telemetry.ingest_sessions TO sf_ingest;
