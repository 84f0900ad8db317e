"""The platform operator's signed-in client, the GraphQL documents of the programme tests, and the audit
log as each principal sees it (docs/PROGRAMME.md)."""

from __future__ import annotations

import grpc

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
