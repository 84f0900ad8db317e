"""The platform operator's signed-in client, the GraphQL documents of the programme tests, the audit log as
each principal sees it, and tenants made in the past by the hundred (docs/PROGRAMME.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import psycopg

from services.runtime.principal import Principal
from services.runtime.tokens import TokenSigner
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import Tenancy
from tests.e2e.provision import GraphQLClient

# The demo's operator (tenants/demo/tenant.yaml), which the test stack loads.
OPERATOR_LOGIN = ("operator@sfcloud.local", "operator-demo-pass")

FLAG_FIELDS = "rule description metric value threshold evidence reviewedAt reviewedBy reviewNote"
UTILISATION_FIELDS = (
    "tenantId tenantName subsidised month daysCounted daysWithData registeredDevices reportingDevices points bytes"
    f" logins loginUsers features {{ feature count }} levels {{ day level }} flags {{ {FLAG_FIELDS} }} telemetryUnavailable"
)
REPORT = (
    "query($month: String!, $tenant: ID, $flagged: Boolean! = false) {"
    " utilisationReport(month: $month, tenantId: $tenant, flaggedOnly: $flagged)"
    f" {{ {UTILISATION_FIELDS} }} }}"
)
REPORT_PAGE = (
    "query($month: String!, $tenant: ID, $flagged: Boolean! = false, $first: Int! = 50, $after: String) {"
    " utilisationReportConnection(month: $month, tenantId: $tenant, flaggedOnly: $flagged, first: $first,"
    f" after: $after) {{ nodes {{ {UTILISATION_FIELDS} }} pageInfo {{ endCursor hasNextPage }} }} }}"
)
CSV = "query($month: String!) { utilisationReportCsv(month: $month) }"
SET_SUBSIDISED = (
    "mutation($tenant: ID!, $on: Boolean!) { setSubsidised(tenantId: $tenant, subsidised: $on)"
    " { subsidised errors { field code message } } }"
)
REVIEW = (
    "mutation($tenant: ID!, $month: String!, $rule: String!, $note: String!) {"
    " reviewUtilisationFlag(tenantId: $tenant, month: $month, rule: $rule, note: $note)"
    f" {{ flag {{ {FLAG_FIELDS} }} errors {{ field code message }} }} }}"
)
REPORT_FIELDS = (
    "id category supplierId supplierName subject body status outcome createdAt updatedAt reporter"
    " reporterOrganisation history { fromStatus toStatus note }"
)
FILE_REPORT = (
    f"mutation($input: FileReportInput!) {{ fileReport(input: $input) {{ report {{ {REPORT_FIELDS} }}"
    " errors { field code message } } }"
)
MOVE_REPORT = (
    'mutation($id: ID!, $status: ReportStatus!, $note: String! = "") {'
    f" moveReport(id: $id, status: $status, note: $note) {{ report {{ {REPORT_FIELDS} }}"
    " errors { field code message } } }"
)
REPORTS = f"query {{ reports {{ {REPORT_FIELDS} }} }}"


async def operator_client(stack) -> GraphQLClient:
    return await GraphQLClient.login(stack.gateway_url, *OPERATOR_LOGIN)


async def audit_of(stack, signer: TokenSigner, principal: Principal) -> list[pb.AuditEvent]:
    """The newest 500 audit events the principal may read."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        return list(
            (
                await tenancy.call("ListAuditEvents", pb.ListAuditEventsRequest(page_size=500), principal)
            ).events
        )


@asynccontextmanager
async def backdated_tenants(admin_url: str, names: list[str], created: str) -> AsyncIterator[list[uuid.UUID]]:
    """Tenants with an active subscription, created at ``created`` (before any other test's tenants), written
    straight into tenancy's tables: hundreds in a moment, where the services stamp a tenant with the present.
    They and their audit rows are removed afterwards, so later reports do not count them."""
    ids = [uuid.uuid4() for _ in names]
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO tenancy.tenants (id, name, slug, created_at) VALUES (%s, %s, %s, %s)",
                [(i, name, f"backdated-{i.hex}", created) for i, name in zip(ids, names, strict=True)],
            )
            await cur.executemany(
                "INSERT INTO tenancy.subscriptions (tenant_id, plan_code, state) VALUES (%s, 'standard', 'active')",
                [(i,) for i in ids],
            )
        try:
            yield ids
        finally:
            await conn.execute("DELETE FROM tenancy.audit_log WHERE tenant_id = ANY(%s)", [ids])
            await conn.execute("DELETE FROM tenancy.tenants WHERE id = ANY(%s)", [ids])
