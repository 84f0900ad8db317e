"""The cross-tenant matrix over the GraphQL API: every root field x {A's session, A's read key,
A's ingest-only key, B's session, no credentials} against tenant A's objects."""

from __future__ import annotations

import time
import uuid

import grpc
import httpx
import pytest

from gateway.graphql.scalars import format_timestamp
from gateway.graphql.schema import build_schema
from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import service_principal
from sf.seeding import create_tenant, send_batches
from sfcloud.v1 import (
    alarms_pb2,
    common_pb2,
    sharing_pb2,
    sharing_pb2_grpc,
    tenancy_pb2_grpc,
    tickets_pb2,
    tickets_pb2_grpc,
)
from sfcloud.v1 import tenancy_pb2 as pb
from tests.alarms.helpers import above, alarm_api, threshold_rule
from tests.control_plane import Tenancy
from tests.e2e.provision import session_cookie
from tests.e2e.test_bad_input import batch

DENIED = {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"}
RANGE = '"1970-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z"'
_DAYS_3 = 3 * 86_400 * 10**9
# a raw read spans at most the plan's window (a week for callers outside any tenant): six days around now
RAW_RANGE = (
    f'"{format_timestamp(time.time_ns() - _DAYS_3)}", to: "{format_timestamp(time.time_ns() + _DAYS_3)}"'
)
# field → (query with {series}/{machine}/{export} placeholders for A's ids, callers allowed to see A's data)
ROWS = {
    "me": ("{ me { kind tenantId } }", {"a_session", "a_key_read", "a_key_ingest", "b_session"}),
    "assets": ("{ assets { id } }", {"a_session", "a_key_read", "b_session"}),
    "assetsConnection": (
        "{ assetsConnection(first: 5) { nodes { id } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "machines": ("{ machines { id series { id } } }", {"a_session", "a_key_read", "b_session"}),
    "series": ('{ series(ids: ["{series}"]) { id } }', {"a_session", "a_key_read", "b_session"}),
    "points": (
        '{ points(seriesId: "{series}", from: ' + RAW_RANGE + ") { values } }",
        {"a_session", "a_key_read"},
    ),
    "aggregate": (
        '{ aggregate(seriesId: "{series}", from: ' + RANGE + ', bucket: "1d") { count } }',
        {"a_session", "a_key_read"},
    ),
    "alignedAggregate": (
        '{ alignedAggregate(seriesIds: ["{series}"], from: '
        + RANGE
        + ', bucket: "1d", function: SUM) { starts } }',
        {"a_session", "a_key_read"},
    ),
    "chart": (
        '{ chart(seriesId: "{series}", from: ' + RANGE + ", columns: 100) { first } }",
        {"a_session", "a_key_read"},
    ),
    "chartLine": (
        '{ chartLine(seriesId: "{series}", from: ' + RANGE + ", columns: 100) { timesMs } }",
        {"a_session", "a_key_read"},
    ),
    "latest": ('{ latest(seriesIds: ["{series}"]) { value } }', {"a_session", "a_key_read", "b_session"}),
    "sessions": ("{ sessions { id } }", {"a_session", "b_session"}),
    "devices": ("{ devices { id name lastBatchAt } }", {"a_session", "a_key_read", "b_session"}),
    "apiKeys": ("{ apiKeys { id prefix } }", {"a_session", "b_session"}),
    "apiKeysConnection": (
        "{ apiKeysConnection(first: 5) { nodes { id prefix } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "b_session"},
    ),
    "oee": (
        '{ oee(assetId: "{machine}", from: "2026-01-01T00:00:00Z", to: "2026-01-08T00:00:00Z") { total { oee } } }',
        {"a_session", "a_key_read"},
    ),
    "siteCalendar": (
        '{ siteCalendar(siteId: "{site}") { timeZone shifts { name } } }',
        {"a_session", "a_key_read"},
    ),
    "spcChart": (
        '{ spcChart(input: {seriesId: "{series}", from: ' + RANGE + ", chart: I_MR}) { sigma } }",
        {"a_session", "a_key_read"},
    ),
    "spcEvents": (
        '{ spcEvents(seriesId: "{series}", from: ' + RANGE + ") { events { id } } }",
        {"a_session", "a_key_read"},
    ),
    "retentionNotice": (
        "{ retentionNotice { deletesBefore retentionDays notifiedAt } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "alarms": ("{ alarms { id ruleName } }", {"a_session", "a_key_read", "b_session"}),
    "alarmsConnection": (
        "{ alarmsConnection(first: 5) { nodes { id ruleName } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "alarm": ('{ alarm(id: "{alarm}") { alarm { id } history { action } } }', {"a_session", "a_key_read"}),
    "alarmRules": ("{ alarmRules { id seriesId } }", {"a_session", "a_key_read", "b_session"}),
    "alarmEndpoints": ("{ alarmEndpoints { id target } }", {"a_session", "b_session"}),
    "export": ('{ export(id: "{export}") { state pointsDone } }', {"a_session", "a_key_read"}),
    "exports": ("{ exports { id state } }", {"a_session", "a_key_read", "b_session"}),
    "exportsConnection": (
        "{ exportsConnection(first: 5) { nodes { id state } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    # Each reader gets its own tenant's level (tests/analytics/test_level.py shows B's is its own).
    "smartFactoryLevel": (
        "{ smartFactoryLevel { level criteria { level name met evidence } nextSteps } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    # Anomaly models and anomalies: A's machine has no model (NOT_FOUND for all), anomalies each its own.
    "anomalies": (
        '{ anomalies(machineId: "{machine}", from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { id } }',
        {"a_session", "a_key_read", "b_session"},
    ),
    "anomaliesConnection": (
        '{ anomaliesConnection(machineId: "{machine}", from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z")'
        " { nodes { id } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "anomalyModel": ('{ anomalyModel(machineId: "{machine}") { threshold } }', set()),  # A has no model
    # The control plane (tests/e2e/test_control_plane_graphql.py): tenants are listed for suppliers and the
    # operator only; a tenant's own record, usage and audit log to its people, each their own.
    "tenants": ("{ tenants { nodes { id } } }", set()),
    "members": ("{ members { nodes { email role } } }", {"a_session", "b_session"}),  # each its own people
    "invitations": ("{ invitations { email role } }", {"a_session", "b_session"}),  # each its own, managers
    # A supplier's staff and open invitations: its staff (admins, the invitations) and the operator only; no
    # caller here is one, not even naming A's supplier (tests/tenancy/test_staff.py has theirs).
    "supplierStaff": ('{ supplierStaff(supplierId: "{supplier}") { nodes { email role } } }', set()),
    "supplierInvitations": ('{ supplierInvitations(supplierId: "{supplier}") { email role } }', set()),
    "plans": (
        "{ plans { code } }",
        {"a_session", "a_key_read", "a_key_ingest", "b_session"},
    ),  # the public catalog
    "tenant": ('{ tenant(id: "{a}") { id name } }', {"a_session", "a_key_read"}),
    "usage": ('{ usage(firstDay: "2026-01-01", lastDay: "2026-01-31") { day } }', {"a_session", "b_session"}),
    "auditEvents": ("{ auditEvents { nodes { action } } }", {"a_session", "b_session"}),
    "billingCsv": ('{ billingCsv(month: "2026-11") }', set()),  # suppliers' staff and the operator only
    "levelHistory": (
        '{ levelHistory(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") { level day } }',
        {"a_session", "a_key_read", "b_session"},
    ),
    # The directory is open to anyone signed in (its listings hold no tenant's ids); requests are people's.
    "suppliers": (
        "{ suppliers(first: 5) { suppliers { id trackRecord { activeTenants } } nextCursor } }",
        {"a_session", "a_key_read", "a_key_ingest", "b_session"},
    ),
    "supplier": (
        '{ supplier(id: "{supplier}") { id name } }',
        {"a_session", "a_key_read", "a_key_ingest", "b_session"},
    ),
    "supplierRequests": ("{ supplierRequests { id state } }", {"a_session", "b_session"}),
    "supplierRequestsConnection": (
        "{ supplierRequestsConnection { nodes { id state } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "b_session"},
    ),
    "tickets": ("{ tickets { id status } }", {"a_session", "a_key_read", "b_session"}),
    "ticketsConnection": (
        "{ ticketsConnection { nodes { id status } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "ticket": (
        '{ ticket(id: "{ticket}") { ticket { id } snapshot { takenAt } } }',
        {"a_session", "a_key_read"},
    ),
    # Data sharing: A granted B raw points of its first series (tests/sharing/test_sharing.py); only B reads
    # under it, only A's managers see its log, each organisation lists its own grants.
    "dataGrants": ("{ dataGrants { id series { id } } }", {"a_session", "b_session"}),
    "dataGrantsConnection": (
        "{ dataGrantsConnection { nodes { id series { id } } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "b_session"},
    ),
    "sharedWithMe": (
        "{ sharedWithMe { id grantorTenantId series { id } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "sharedWithMeConnection": (
        "{ sharedWithMeConnection { nodes { id grantorTenantId series { id } } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    "grantAccessLog": ('{ grantAccessLog(grantId: "{grant}") { accesses { action actor } } }', {"a_session"}),
    "sharedPoints": (
        '{ sharedPoints(grantId: "{grant}", seriesId: "{series}", from: ' + RAW_RANGE + ") { values } }",
        {"b_session"},
    ),
    "sharedAggregate": (
        '{ sharedAggregate(grantId: "{grant}", seriesId: "{series}", from: '
        + RANGE
        + ', bucket: "1d") { count } }',
        {"b_session"},
    ),
    # The programme operator's tools: no caller here is the operator (tests/programme/ signs one in); every
    # signed-in person lists its own reports.
    "utilisationReport": ('{ utilisationReport(month: "2026-11") { tenantId flags { rule } } }', set()),
    "utilisationReportConnection": (
        '{ utilisationReportConnection(month: "2026-11", first: 5) { nodes { tenantId flags { rule } } pageInfo'
        " { endCursor hasNextPage } } }",
        set(),
    ),
    "utilisationReportCsv": ('{ utilisationReportCsv(month: "2026-11") }', set()),
    "levelDistribution": ("{ levelDistribution { supplierId levels { level tenants } unassessed } }", set()),
    "reports": ("{ reports { id status reporter } }", {"a_session", "b_session"}),
    "reportsConnection": (
        "{ reportsConnection { nodes { id status reporter } pageInfo { endCursor hasNextPage } } }",
        {"a_session", "b_session"},
    ),
    "brand": ("{ brand { productName } }", {"a_session", "a_key_read", "a_key_ingest", "b_session"}),
}
# Who may see A's ids in a field's answer because A shared them with B.
SHARED_WITH = {"sharedWithMe": {"b_session"}, "sharedWithMeConnection": {"b_session"}}
# Who reaches A's objects through A's grant, so that its answer for them differs from one for a missing grant.
UNDER_A_GRANT = {
    "sharedPoints": {"b_session"},
    "sharedAggregate": {"b_session"},
    "exportGrant": {"b_session"},
}
# Mutations are checked the same way; each acts on the caller's own objects only.
MUTATIONS = {
    "revokeSession": ('mutation { revokeSession(id: "0000") { revoked } }', {"a_session", "b_session"}),
    "createApiKey": (
        'mutation { createApiKey(name: "matrix", scopes: [READ]) { key errors { code } } }',
        {"a_session", "b_session"},
    ),
    "revokeApiKey": (
        'mutation { revokeApiKey(id: "00000000-0000-0000-0000-000000000000") { revoked } }',
        {"a_session", "b_session"},
    ),
    # Alarm mutations answer another tenant's (or no) object with a NOT_FOUND user error in the payload;
    # B's rule on A's series is refused so (tests/alarms/test_graphql.py shows the codes).
    "createAlarmRule": (
        'mutation { createAlarmRule(kind: THRESHOLD, seriesId: "{series}",'
        ' settings: {name: "m", severity: INFO, condition: ABOVE, threshold: 1}) { rule { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "updateAlarmRule": (
        'mutation { updateAlarmRule(id: "00000000-0000-0000-0000-000000000000",'
        ' settings: {name: "m", severity: INFO, condition: ABOVE}) { rule { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "deleteAlarmRule": (
        'mutation { deleteAlarmRule(id: "00000000-0000-0000-0000-000000000000") { deleted } }',
        {"a_session", "b_session"},
    ),
    "createAlarmEndpoint": (
        'mutation { createAlarmEndpoint(kind: EMAIL, target: "ops@example.com") { secret errors { code } } }',
        {"a_session", "b_session"},
    ),
    "deleteAlarmEndpoint": (
        'mutation { deleteAlarmEndpoint(id: "00000000-0000-0000-0000-000000000000") { deleted } }',
        {"a_session", "b_session"},
    ),
    "acknowledgeAlarm": (
        'mutation { acknowledgeAlarm(id: "{alarm}") { alarm { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "clearAlarm": (
        'mutation { clearAlarm(id: "00000000-0000-0000-0000-000000000000") { errors { code } } }',
        {"a_session", "b_session"},
    ),
    "commentAlarm": (
        'mutation { commentAlarm(id: "{alarm}", comment: "seen") { errors { code } } }',
        {"a_session", "b_session"},
    ),
    # A's machine sent too little to fit, so every caller is refused here (a site is no machine: NOT_FOUND);
    # tests/isolation/test_matrix.py (TrainModel) and tests/analytics/test_anomaly_worker.py tell A's
    # input mistakes from strangers.
    "trainAnomalyModel": ('mutation { trainAnomalyModel(machineId: "{site}") { threshold } }', set()),
    # Its payload twin answers the same refusal to A's and B's owners as a user error (ASSET_NOT_FOUND, the
    # very answer for a machine that does not exist); other callers may not fit models at all.
    "fitAnomalyModel": (
        'mutation { fitAnomalyModel(machineId: "{site}") { model { threshold } errors { code } } }',
        {"a_session", "b_session"},
    ),
    # Running tenants is a supplier's or the operator's; a tenant's people invite and manage devices in their own.
    "createTenant": (
        'mutation { createTenant(name: "m", planCode: "pro") { tenant { id } errors { code } } }',
        set(),
    ),
    "changePlan": (
        'mutation { changePlan(tenantId: "{a}", planCode: "pro") { tenant { id } errors { code } } }',
        set(),
    ),
    "suspendTenant": (
        'mutation { suspendTenant(tenantId: "{a}", reason: "m") { tenant { id } errors { code } } }',
        set(),
    ),
    "resumeTenant": (
        'mutation { resumeTenant(tenantId: "{a}", reason: "m") { tenant { id } errors { code } } }',
        set(),
    ),
    "inviteUser": (
        'mutation { inviteUser(email: "matrix@sme.example", role: VIEWER) { invitationId errors { code } } }',
        {"a_session", "b_session"},
    ),
    "createDevice": (
        'mutation { createDevice(name: "matrix") { deviceId errors { code } } }',
        {"a_session", "b_session"},
    ),
    "rotateDeviceCredential": (
        'mutation { rotateDeviceCredential(id: "00000000-0000-0000-0000-000000000000") { credential errors { code } } }',
        {"a_session", "b_session"},
    ),
    "revokeDevice": (
        'mutation { revokeDevice(id: "00000000-0000-0000-0000-000000000000") { revoked errors { code } } }',
        {"a_session", "b_session"},
    ),
    # The asset tree is edited by a tenant's owners and admins; B's session gets a NOT_FOUND user error
    # (PARENT_NOT_FOUND, ASSET_NOT_FOUND, MACHINE_NOT_FOUND) for A's nodes, exactly as for ids that do not
    # exist (test_another_tenants_tree_is_not_found_exactly_as_an_unknown_id). A's own delete of its site is
    # refused as ASSET_NOT_EMPTY, and its series are not deleted here: later rows read them.
    "createAsset": (
        'mutation { createAsset(parentId: "{site}", kind: LINE, name: "Matrix line") { asset { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "updateAsset": (
        'mutation { updateAsset(id: "{machine}", name: "Matrix machine") { asset { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "deleteAsset": (
        'mutation { deleteAsset(id: "{site}") { deleted errors { code } } }',
        {"a_session", "b_session"},
    ),
    "createSeries": (
        'mutation { createSeries(input: {machineId: "{machine}", name: "matrix_tag", kind: GAUGE})'
        " { series { id } errors { code } } }",
        {"a_session", "b_session"},
    ),
    "deleteSeries": (
        'mutation { deleteSeries(id: "00000000-0000-0000-0000-000000000000") { deleted errors { code } } }',
        {"a_session", "b_session"},
    ),
    "setSiteCalendar": (
        'mutation { setSiteCalendar(siteId: "{site}", timeZone: "Europe/Berlin",'
        ' shifts: [{name: "day", startMinute: 360, durationMinutes: 480}]) { timeZone } }',
        {"a_session"},
    ),
    "setMachineOeeSettings": (
        'mutation { setMachineOeeSettings(input: {machineId: "{machine}", idealCycleSeconds: 30}) { runStates } }',
        {"a_session"},
    ),
    "recordSpcEvents": (
        'mutation { recordSpcEvents(input: {seriesId: "{series}", from: '
        + RANGE
        + ", chart: I_MR}) { alreadyStored } }",
        {"a_session"},
    ),
    # The payload twins: B's owner gets a user error for A's site, machine or series (ASSET_NOT_FOUND,
    # SERIES_NOT_FOUND), exactly as for ids that do not exist (the matrix compares the two answers).
    "updateSiteCalendar": (
        'mutation { updateSiteCalendar(siteId: "{site}", timeZone: "Europe/Berlin",'
        ' shifts: [{name: "day", startMinute: 360, durationMinutes: 480}]) { calendar { timeZone }'
        " errors { code } } }",
        {"a_session", "b_session"},
    ),
    "updateMachineOeeSettings": (
        'mutation { updateMachineOeeSettings(input: {machineId: "{machine}", idealCycleSeconds: 30})'
        " { settings { runStates } errors { code } } }",
        {"a_session", "b_session"},
    ),
    "storeSpcEvents": (
        'mutation { storeSpcEvents(input: {seriesId: "{series}", from: '
        + RANGE
        + ", chart: I_MR}) { events { alreadyStored } errors { code } } }",
        {"a_session", "b_session"},
    ),
    "startExport": ("mutation { startExport { id state } }", {"a_session", "a_key_read", "b_session"}),
    "requestExport": (
        "mutation { requestExport { export { id state } errors { code } } }",
        {"a_session", "a_key_read", "b_session"},
    ),
    # A's grant to B: B's session exports it; A's own readers find no such grant to them (a user error,
    # GRANT_NOT_FOUND); an ingest key may not export (tests/sharing/test_grant_exports.py). A supplier's staff
    # export grants given to their supplier (its admins only), and `export`, `exportsConnection` show a
    # supplier its own exports of grants, never a tenant's (tests/sharing/test_supplier_grant_exports.py).
    "exportGrant": (
        'mutation { exportGrant(grantId: "{grant}") { export { id state } errors { code } } }',
        {"a_session", "a_key_read", "b_session"},
    ),
    # Only a supplier's admins (or the operator) invite its staff: no caller here is one, not even with the
    # supplier of tenant A named (tests/webapp/test_invite.py has the admin's).
    "inviteStaff": (
        'mutation { inviteStaff(email: "matrix@si.example", role: STAFF, supplierId: "{supplier}") { invitationId } }',
        set(),
    ),
    # Only a supplier's staff brand it: no caller here is one.
    "setBrand": (
        'mutation { setBrand(productName: "x", primaryColour: "#0b5cad", accentColour: "#0b5cad") { errors { code } } }',
        set(),
    ),
    # Only suppliers' staff edit profiles and answer requests: no caller here is one.
    "updateSupplierProfile": (
        'mutation { updateSupplierProfile(profile: {summary: "x"}) { errors { code } } }',
        set(),
    ),
    "requestSupplier": (
        'mutation { requestSupplier(supplierId: "00000000-0000-0000-0000-000000000000") { errors { code } } }',
        {"a_session", "b_session"},
    ),
    "acceptSupplierRequest": (
        'mutation { acceptSupplierRequest(id: "00000000-0000-0000-0000-000000000000") { done } }',
        set(),
    ),
    "declineSupplierRequest": (
        'mutation { declineSupplierRequest(id: "00000000-0000-0000-0000-000000000000") { done } }',
        set(),
    ),
    # B's session gets a TICKET_NOT_FOUND user error for A's ticket (tests/support/test_tickets.py).
    "openTicket": (
        'mutation { openTicket(subject: "matrix") { ticket { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "commentTicket": (
        'mutation { commentTicket(id: "{ticket}", body: "hi") { errors { code } } }',
        {"a_session", "b_session"},
    ),
    "setTicketStatus": (
        'mutation { setTicketStatus(id: "{ticket}", status: CLOSED) { errors { code } } }',
        {"a_session", "b_session"},
    ),
    # A's grant overlaps the one it gave already, B cannot grant A's series: user errors, both answered.
    "grantData": (
        'mutation { grantData(input: {granteeKind: TENANT, granteeId: "{b}", seriesIds: ["{series}"],'
        ' from: "1970-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", granularity: RAW, purpose: "matrix",'
        ' expiresAt: "2099-01-01T00:00:00Z"}) { grant { id } errors { code } } }',
        {"a_session", "b_session"},
    ),
    "revokeGrant": (
        'mutation { revokeGrant(id: "00000000-0000-0000-0000-000000000000") { errors { code } } }',
        {"a_session", "b_session"},
    ),
    "setAnalysisPartner": (  # the operator's: no caller here is the operator (tests/e2e/test_asset_tree_graphql.py)
        'mutation { setAnalysisPartner(supplierId: "{supplier}", partner: true) { partner errors { code } } }',
        set(),
    ),
    "setSubsidised": (
        'mutation { setSubsidised(tenantId: "{b}", subsidised: true) { subsidised errors { code } } }',
        set(),
    ),
    "reviewUtilisationFlag": (
        'mutation { reviewUtilisationFlag(tenantId: "{b}", month: "2026-11", rule: "NO_LOGINS", note: "x")'
        " { flag { rule } errors { code } } }",
        set(),
    ),
    "fileReport": (
        'mutation { fileReport(input: {category: MISUSE, subject: "matrix", body: "suspected misuse"})'
        " { report { id } errors { code } } }",
        {"a_session", "b_session"},
    ),
    "moveReport": (
        'mutation { moveReport(id: "00000000-0000-0000-0000-000000000000", status: INVESTIGATING)'
        " { report { id } errors { code } } }",
        set(),
    ),
}
A_DATA_VISIBLE_TO = {"a_session", "a_key_read", "a_key_ingest"}


def test_every_query_field_and_mutation_has_a_row():
    """RELIABILITY I1: Every GraphQL query field and mutation has a row in the matrix."""
    schema = build_schema()._schema
    assert set(schema.query_type.fields) == set(ROWS), "add a row to ROWS for each new GraphQL field"
    assert set(schema.mutation_type.fields) == set(MUTATIONS), "add a row to MUTATIONS for each new mutation"


@pytest.fixture(scope="module")
async def callers(stack, signer):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        s, t = [(await tenancy.supplier(f"GQL {name}"))[0] for name in "ST"]
    a = await create_tenant(stack.targets["tenancy"], signer, "GQL A", supplier_id=s.id)
    b = await create_tenant(stack.targets["tenancy"], signer, "GQL B", supplier_id=t.id)
    now = time.time_ns()
    await send_batches(
        stack.targets["ingest"], a.credential, [batch(a.series_ids[0], [now - 10**9, now], [5.0, 6.0])]
    )  # two values: an SPC chart of the series has limits
    headers = {"anonymous": {}}
    for name, tenant in (("a_session", a), ("b_session", b)):
        async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
            response = await http.post(
                "/login", data={"email": tenant.owner_email, "password": tenant.owner_password}
            )
            cookie = session_cookie(response)
            csrf = (await http.get("/api/session", headers={"cookie": cookie})).json()["csrfToken"]
        headers[name] = {"cookie": cookie, "x-csrf-token": csrf}
    async with httpx.AsyncClient(base_url=stack.gateway_url) as http:
        started = await http.post(
            "/graphql", json={"query": "mutation { startExport { id } }"}, headers=headers["a_session"]
        )
    return a, b, headers, started.json()["data"]["startExport"]["id"]


async def keys_for(tenancy, a) -> dict[str, dict]:
    owner = Principal(Kind.USER, "owner", tenant_id=a.id, role=Role.OWNER)
    out = {}
    for name, scopes in (("a_key_read", ["read"]), ("a_key_ingest", ["ingest"])):
        key = (
            await tenancy.call(
                "CreateApiKey", pb.CreateApiKeyRequest(name=f"{name}-{time.time_ns()}", scopes=scopes), owner
            )
        ).key
        out[name] = {"authorization": f"Bearer {key}"}
    return out


@pytest.fixture(scope="module")
async def all_callers(stack, signer, callers):
    """The sessions plus A's two API keys (made once: keys count against the plan's quota), and an
    alarm of A's (a rule on A's series whose condition A's worker reported)."""
    a, b, headers, export_id = callers
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        keys = await keys_for(tenancy, a)
        owner = Principal(Kind.USER, "owner", tenant_id=a.id, role=Role.OWNER)
        tree = (await tenancy.call("ListAssets", pb.ListAssetsRequest(), owner)).assets
        alarm_id = await raised_alarm(alarm_api(channel, signer), a)
        tickets = Tenancy(tickets_pb2_grpc.TicketServiceStub(channel), signer)
        ticket = (
            await tickets.call("OpenTicket", tickets_pb2.OpenTicketRequest(subject="A's"), owner)
        ).ticket
        sharing = Tenancy(sharing_pb2_grpc.SharingServiceStub(channel), signer)
        shared = (await sharing.call("CreateGrant", _grant_to(b, a.series_ids[0]), owner)).grant
    site = next(asset.id for asset in tree if asset.kind == pb.ASSET_KIND_SITE)
    more = {
        "site": site,
        "export": export_id,
        "alarm": alarm_id,
        "ticket": ticket.id,
        "supplier": ticket.supplier_id,
        "grant": shared.id,
        "b": str(b.id),
        "a": str(a.id),
    }
    return a, headers | keys, more


def _grant_to(grantee, series_id: str) -> sharing_pb2.CreateGrantRequest:
    """Raw points of one series, of all time, for a day."""
    return sharing_pb2.CreateGrantRequest(
        grantee_kind=sharing_pb2.GRANTEE_KIND_TENANT,
        grantee_id=str(grantee.id),
        series_ids=[series_id],
        range=common_pb2.TimeRange(start_ns=0, end_ns=4_102_444_800 * 10**9),
        granularity=sharing_pb2.GRANULARITY_RAW,
        purpose="isolation matrix",
        expires_ns=time.time_ns() + 86_400 * 10**9,
    )


async def raised_alarm(alarms, tenant) -> str:
    owner = Principal(Kind.USER, "owner", tenant_id=tenant.id, role=Role.OWNER)
    rule = (await alarms.call("CreateAlarmRule", threshold_rule(tenant.series_ids[0], above(1)), owner)).rule
    report = alarms_pb2.ReportAlarmConditionRequest(
        rule_id=rule.id, kind=alarms_pb2.ALARM_RULE_KIND_THRESHOLD, time_ns=time.time_ns(), active=True
    )
    answer = await alarms.call("ReportAlarmCondition", report, service_principal("worker", tenant.id))
    return answer.transitions[0].alarm.id


@pytest.mark.parametrize("field", sorted(ROWS) + sorted(MUTATIONS))
async def test_graphql_matrix(stack, all_callers, field):
    """RELIABILITY I1: One GraphQL field x every principal on tenant A's objects: no cross-tenant success."""
    a, headers, more = all_callers
    query_template, allowed = ROWS.get(field) or MUTATIONS[field]
    a_objects = {"series": a.series_ids[0], "machine": a.machine_id} | more
    query = _filled(query_template, a_objects)
    # The same query naming objects that do not exist where it names A's (B and A's supplier are not A's).
    missing = {name: str(uuid.uuid4()) for name in a_objects if name not in ("supplier", "b")}
    query_missing = _filled(query_template, a_objects | missing)
    # A's ids the caller did not send itself: an error may repeat the id it was asked about, nothing more.
    # A's supplier is not A's to hide: the directory lists every supplier.
    private = [value for name, value in more.items() if name not in ("supplier", "b")]
    a_ids = {i for i in (a.machine_id, *a.series_ids, str(a.id), *private) if i not in query}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        for who, extra in headers.items():
            response = await http.post("/graphql", json={"query": query}, headers=extra)
            body = response.json()
            codes = {e["extensions"]["code"] for e in body.get("errors") or []}
            sees_a = A_DATA_VISIBLE_TO | SHARED_WITH.get(field, set())
            leaked = {i for i in a_ids if i in response.text} if who not in sees_a else set()
            assert not leaked, f"{field} as {who} showed A's ids {leaked}"
            if who in allowed:
                assert response.status_code == 200 and not codes, f"{field} as {who}: {body}"
            else:
                assert codes and codes <= DENIED, f"{field} as {who}: {response.status_code} {body}"
            if who not in sees_a | UNDER_A_GRANT.get(field, set()) and query_missing != query:
                other = await http.post("/graphql", json={"query": query_missing}, headers=extra)
                assert _blanked(response, a_objects) == _blanked(other, missing), (
                    f"{field} as {who}: A's ids answered {body}, missing ids {other.json()}"
                )


def _filled(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


def _blanked(response: httpx.Response, ids: dict[str, str]) -> tuple[int, str]:
    """The status and body with the asked ids blanked out."""
    text = response.text
    for name, value in ids.items():
        text = text.replace(value, "<" + name + ">")
    return response.status_code, text


# Editing the asset tree with one of A's ids ({site}, {machine}, {series}) from B's session, and B's machine.
PAYLOAD = "errors { field code message }"
TREE_EDITS = {
    "create under A's site": (
        f'mutation($id: ID!) {{ createAsset(parentId: $id, kind: LINE, name: "B line") {{ asset {{ id }} {PAYLOAD} }} }}',
        "site",
    ),
    "rename A's machine": (
        f'mutation($id: ID!) {{ updateAsset(id: $id, name: "B name") {{ asset {{ id }} {PAYLOAD} }} }}',
        "machine",
    ),
    "move B's machine under A's site": (
        "mutation($id: ID!, $mine: ID!) { updateAsset(id: $mine, parentId: $id)"
        f" {{ asset {{ id }} {PAYLOAD} }} }}",
        "site",
    ),
    "delete A's machine": (
        f"mutation($id: ID!) {{ deleteAsset(id: $id) {{ deleted {PAYLOAD} }} }}",
        "machine",
    ),
    "add a series to A's machine": (
        'mutation($id: ID!) { createSeries(input: {machineId: $id, name: "b_tag", kind: GAUGE})'
        f" {{ series {{ id }} {PAYLOAD} }} }}",
        "machine",
    ),
    "delete A's series": (
        f"mutation($id: ID!) {{ deleteSeries(id: $id) {{ deleted {PAYLOAD} }} }}",
        "series",
    ),
}


@pytest.mark.parametrize("edit", sorted(TREE_EDITS))
async def test_another_tenants_tree_is_not_found_exactly_as_an_unknown_id(stack, callers, all_callers, edit):
    """RELIABILITY I1: B's session editing A's asset tree gets the very answer an id that does not exist
    gets (a NOT_FOUND user error), and A's tree is untouched."""
    a, b, headers, _ = callers
    _, _, more = all_callers
    document, target = TREE_EDITS[edit]
    a_id = {"site": more["site"], "machine": a.machine_id, "series": a.series_ids[0]}[target]
    answers = []
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        for asked in (a_id, str(uuid.uuid4())):
            variables = {"id": asked, "mine": b.machine_id}
            response = await http.post(
                "/graphql", json={"query": document, "variables": variables}, headers=headers["b_session"]
            )
            answers.append(response.json())
        check = '{ assets { id name } series(ids: ["' + a.series_ids[0] + '"]) { id } }'
        a_view = (await http.post("/graphql", json={"query": check}, headers=headers["a_session"])).json()
    assert answers[0] == answers[1], answers
    (payload,) = answers[0]["data"].values()
    [error] = payload["errors"]
    assert error["code"].endswith("NOT_FOUND") and error["field"] is None, payload
    names = {node["id"]: node["name"] for node in a_view["data"]["assets"]}
    assert a_id in names or a_view["data"]["series"] == [{"id": a_id}]
    assert not {"B line", "B name"} & set(names.values())
