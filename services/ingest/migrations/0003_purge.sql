-- Offboarding: a purged tenant's telemetry is deleted (in a transaction scoped to that tenant).
GRANT DELETE ON telemetry.blocks, telemetry.usage_daily TO sf_ingest;
