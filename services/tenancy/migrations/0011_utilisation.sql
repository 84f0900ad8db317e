-- The programme operator's utilisation checks and the report centre (docs/PROGRAMME.md).
--
-- Who sees what (row-level security; the service checks the same first):
--   subscriptions.subsidised  as the subscription; only the operator changes it (the service checks)
--   utilisation_reviews       the operator only (app.operator): a tenant never learns it was flagged
--   reports, report_events    the operator reads and moves every report; the reporter (app.reporter,
--                             "user:<id>") files and reads its own reports, never their history; nobody
--                             else, the reported supplier included, sees any

ALTER TABLE tenancy.subscriptions ADD COLUMN subsidised boolean NOT NULL DEFAULT false;

-- A flag raised by a rule for a tenant's month, marked reviewed by the operator with a note.
CREATE TABLE tenancy.utilisation_reviews (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    rule        text NOT NULL,
    note        text NOT NULL CHECK (length(note) BETWEEN 1 AND 2000),
    reviewed_by text NOT NULL,
    reviewed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, month, rule)
);
ALTER TABLE tenancy.utilisation_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.utilisation_reviews FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_only ON tenancy.utilisation_reviews
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

-- Reports to the programme: by a signed-in person (acting for a tenant, a supplier or neither), about
-- suspected misuse or a supplier. The supplier's name is kept as filed.
CREATE TABLE tenancy.reports (
    id                    uuid PRIMARY KEY,
    reporter              text NOT NULL,            -- "user:<id>"
    reporter_organisation text NOT NULL DEFAULT '',   -- "tenant:<id>", "supplier:<id>" or ''
    category              text NOT NULL CHECK (category IN ('misuse', 'supplier')),
    supplier_id           uuid REFERENCES tenancy.suppliers (id) ON DELETE SET NULL,
    supplier_name         text NOT NULL DEFAULT '',
    subject               text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body                  text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    status                text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'investigating', 'closed')),
    outcome               text NOT NULL DEFAULT '' CHECK (length(outcome) <= 5000),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'closed' OR outcome <> ''),
    CHECK (category <> 'supplier' OR supplier_name <> '')
);
CREATE INDEX reports_newest ON tenancy.reports (created_at DESC);
CREATE INDEX reports_reporter ON tenancy.reports (reporter, created_at DESC);
ALTER TABLE tenancy.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.reports FORCE ROW LEVEL SECURITY;
CREATE POLICY report_operator ON tenancy.reports
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
CREATE POLICY report_reader ON tenancy.reports FOR SELECT
    USING (reporter = nullif(current_setting('app.reporter', true), ''));
CREATE POLICY report_filer ON tenancy.reports FOR INSERT
    WITH CHECK (reporter = nullif(current_setting('app.reporter', true), ''));

-- The operator's moves of a report, with their notes.
CREATE TABLE tenancy.report_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES tenancy.reports (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 5000)
);
CREATE INDEX report_events_report ON tenancy.report_events (report_id, id);
ALTER TABLE tenancy.report_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.report_events FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_only ON tenancy.report_events
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

GRANT SELECT, INSERT, UPDATE ON tenancy.utilisation_reviews, tenancy.reports TO sf_tenancy;
GRANT SELECT, INSERT ON tenancy.report_events TO sf_tenancy;
