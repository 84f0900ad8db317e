-- Alarm evaluation (docs/ANALYTICS.md, "Alarms"): the worker's no-data rules read when each device last
-- sent. It already reads telemetry.blocks (compaction); row-level security scopes both to the tenant.
GRANT SELECT ON telemetry.device_activity TO sf_worker;
