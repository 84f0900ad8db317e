-- What an industry template gives a tenant: KPI targets, ideal cycle times per machine, alarm defaults per series.
ALTER TABLE tenancy.tenants
    ADD COLUMN template    text,
    ADD COLUMN kpi_targets jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tenancy.assets
    ADD COLUMN machine_type  text,
    ADD COLUMN ideal_cycle_s double precision CHECK (ideal_cycle_s > 0);
ALTER TABLE tenancy.series
    ADD COLUMN alarm_defaults jsonb NOT NULL DEFAULT '[]';
