-- The mail outbox (docs/SUPPORT.md, "Notifications"): each email a ticket or a supplier request owes the
-- other side, written in the same transaction as the change, so the change never waits on (or fails with)
-- the mail server and no committed change loses its mail. Tenancy's sender delivers the rows with retries.
--
-- A row names its audience, not its addresses: the sender reads the recipients (and the names the mail
-- shows) at the first attempt, in the scope of the side that is mailed, and keeps them with the row, so a
-- retry goes to the same people and never twice to one who already has it (`sent_to`).
--
-- Who sees what: a change's transaction (its tenant's, or its supplier's) adds rows for its own tenant or
-- supplier and reads none; only the sender (app.mail_sender = 'on') reads and updates them.

CREATE TABLE tenancy.mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    supplier_id     uuid NOT NULL REFERENCES tenancy.suppliers (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('ticket_opened', 'ticket_comment', 'ticket_status',
                                                  'request_made', 'request_accepted', 'request_declined')),
    audience        text NOT NULL CHECK (audience IN ('supplier_staff', 'ticket_customer', 'tenant_owners')),
    opener          text,                 -- ticket_customer: the ticket's opener (a user id), mailed too
    detail          jsonb NOT NULL,       -- what the mail says: the ticket's subject, the comment, the move
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    recipients      text[],               -- fixed at the first attempt
    sent_to         text[] NOT NULL DEFAULT '{}',
    sent_at         timestamptz,          -- every recipient has it
    failed_at       timestamptz,          -- given up (the mail server refused for too long)
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_due ON tenancy.mail_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;

ALTER TABLE tenancy.mail_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.mail_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY outbox_enqueue ON tenancy.mail_outbox FOR INSERT
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
                OR supplier_id = nullif(current_setting('app.supplier_id', true), '')::uuid);
CREATE POLICY outbox_send ON tenancy.mail_outbox
    USING (current_setting('app.mail_sender', true) = 'on');
GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.mail_outbox TO sf_tenancy;
