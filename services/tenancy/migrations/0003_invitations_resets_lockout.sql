-- Invitations (single-use, expiring), password resets, and account lockout after repeated failures.

CREATE TABLE tenancy.invitations (
    tenant_id   uuid NOT NULL REFERENCES tenancy.tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE tenancy.invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.invitations FORCE ROW LEVEL SECURITY;
-- Accepting happens before the tenant is known: the transaction sees only the invitation whose token it holds.
CREATE POLICY tenant_rows ON tenancy.invitations
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
           OR encode(token_hash, 'hex') = nullif(current_setting('app.invitation', true), ''))
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Password resets belong to a user, not a tenant.
CREATE TABLE tenancy.password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES tenancy.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

ALTER TABLE tenancy.users
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until  timestamptz;

GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.invitations, tenancy.password_resets TO sf_tenancy;
