"""The cross-tenant matrix (RELIABILITY.md §1.3), over every gRPC method of the control plane, the
query service and the worker's export service: each method x each kind of principal x objects of tenant A.

The expected outcome is data (`ROWS`); a method that appears in the protos without a row fails the
test, so a new endpoint cannot ship untested. Outside a method's allowed principals, a call must be
refused (UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND) or succeed without any of A's data in its answer.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import METADATA_KEY, service_principal
from sf.seeding import send_batches
from sfcloud.v1 import (
    alarms_pb2,
    alarms_pb2_grpc,
    anomaly_pb2,
    anomaly_pb2_grpc,
    common_pb2,
    directory_pb2,
    directory_pb2_grpc,
    export_pb2,
    export_pb2_grpc,
    level_pb2,
    level_pb2_grpc,
    production_pb2,
    production_pb2_grpc,
    programme_pb2,
    programme_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    sharing_pb2,
    sharing_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
    tickets_pb2,
    tickets_pb2_grpc,
)
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.e2e.test_bad_input import batch
from tests.tenancy.test_subscriptions import _machine

DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND}
MANAGERS_ANYWHERE = {"a_owner", "b_owner"}  # untargeted creations: each in its own tenant


@dataclass
class World:
    """Tenant A (resold by supplier S) with one of everything, tenant B (resold by T), and the principals."""

    a: pb.Tenant
    b: pb.Tenant
    supplier_s: str
    machine: str
    series: str
    device: str
    key_id: str
    export: str
    principals: dict[str, Principal | None] = field(default_factory=dict)
    alarm_ids: dict[str, str] = field(default_factory=dict)  # A's alarm rule and alarm
    ticket: str = ""  # A's ticket to its supplier S
    grant: str = ""  # A's grant to B: raw points of A's series, of all time

    def a_ids(self) -> set[str]:
        return {
            self.a.id,
            self.machine,
            self.series,
            self.device,
            self.key_id,
            self.export,
            *self.alarm_ids.values(),
            self.ticket,
            self.grant,
        }


@dataclass(frozen=True)
class Row:
    build: Callable[[World], Awaitable[object]]
    allowed: frozenset[str]
    # What an allowed caller gets: "ok", or a status that shows the call got past authorization
    # (e.g. an unknown invitation token is FAILED_PRECONDITION, not PERMISSION_DENIED).
    allowed_outcome: object = "ok"
    # Who may see A's ids in an answer because A shared them (B, the grantee of A's grant).
    shared_with: frozenset[str] = frozenset()


def row(
    allowed: set[str],
    build: Callable[[World], object],
    allowed_outcome: object = "ok",
    shared_with: frozenset[str] = frozenset(),
) -> Row:
    async def wrapped(world: World) -> object:
        request = build(world)
        return await request if hasattr(request, "__await__") else request

    return Row(wrapped, frozenset(allowed), allowed_outcome, shared_with)


A_TENANT_READERS = {"a_owner", "a_viewer", "a_key_read"}
DIRECTORY_READERS = A_TENANT_READERS | {"b_owner", "supplier_s", "supplier_t", "operator"}
EXPORTERS = {"a_owner", "a_key_read"}
PEOPLE = {"a_owner", "a_viewer", "b_owner", "supplier_s", "supplier_t", "operator"}
TIME_RANGE = common_pb2.TimeRange(start_ns=0, end_ns=2**62)
# a raw read spans at most the caller's plan's window (a week outside any tenant): six days around now
RAW_RANGE = common_pb2.TimeRange(
    start_ns=time.time_ns() - 3 * 86_400 * 10**9, end_ns=time.time_ns() + 3 * 86_400 * 10**9
)

ROWS: dict[str, Row] = {
    "TenancyService/Login": row(
        {"gateway"}, lambda w: pb.LoginRequest(email=w.principals["_member"], password="p" * 12)
    ),
    "TenancyService/AuthenticateDevice": row(
        {"ingest"}, lambda w: pb.AuthenticateDeviceRequest(credential=w.principals["_credential"])
    ),
    "TenancyService/AuthenticateApiKey": row(
        {"gateway"}, lambda w: pb.AuthenticateApiKeyRequest(key=w.principals["_key"])
    ),
    "TenancyService/CreateSupplier": row(
        {"operator"}, lambda w: pb.CreateSupplierRequest(name=f"S {secrets.token_hex(4)}")
    ),
    # A brand is public once served on a domain (the gateway asks before sign-in); each supplier's admins
    # set their own; people and keys read the one they see (none of A's ids is in any brand).
    "TenancyService/FindBrandByDomain": row(
        {"gateway"}, lambda w: pb.FindBrandByDomainRequest(domain="nowhere.example")
    ),
    "TenancyService/GetBrand": row(PEOPLE | {"a_key_read"}, lambda w: pb.GetBrandRequest()),
    "TenancyService/SetBrand": row(
        {"supplier_s", "supplier_t"},
        lambda w: pb.SetBrandRequest(
            product_name="Matrix", primary_colour="#0b5cad", accent_colour="#0b5cad"
        ),
    ),
    # Accounts with a password chosen by the caller: the operator only (others invite, RELIABILITY I4).
    "TenancyService/CreateSupplierUser": row(
        {"operator"},
        lambda w: pb.CreateSupplierUserRequest(
            supplier_id=w.supplier_s,
            email=f"s-{secrets.token_hex(4)}@example.com",
            password="p" * 12,
            display_name="S",
            role="staff",
        ),
    ),
    "TenancyService/InviteSupplierUser": row(
        {"operator", "supplier_s"},
        lambda w: pb.InviteSupplierUserRequest(
            supplier_id=w.supplier_s, email=f"s-{secrets.token_hex(4)}@example.com", role="staff"
        ),
    ),
    # S's staff list: its staff and the operator; its open invitations: its admins (supplier_s is one) and the
    # operator; T's admin naming S is refused as for a supplier that does not exist (tests/tenancy/test_staff.py).
    "TenancyService/ListSupplierStaff": row(
        {"operator", "supplier_s"}, lambda w: pb.ListSupplierStaffRequest(supplier_id=w.supplier_s)
    ),
    "TenancyService/ListSupplierInvitations": row(
        {"operator", "supplier_s"}, lambda w: pb.ListSupplierInvitationsRequest(supplier_id=w.supplier_s)
    ),
    "TenancyService/CreateTenant": row(
        {"operator", "supplier_s"},
        lambda w: pb.CreateTenantRequest(
            name=f"T {secrets.token_hex(4)}", plan_code="starter", supplier_id=w.supplier_s
        ),
    ),
    "TenancyService/ListTenants": row(
        {"operator", "supplier_s", "supplier_t", "worker"}, lambda w: pb.ListTenantsRequest(page_size=200)
    ),
    # A tenant's people: its people, each in its own tenant (tests/e2e/test_control_plane_graphql.py).
    "TenancyService/ListMembers": row({"a_owner", "a_viewer", "b_owner"}, lambda w: pb.ListMembersRequest()),
    # The catalog's plans: anyone the platform knows (no tenant's data in them).
    "TenancyService/ListPlans": row(
        A_TENANT_READERS | {"b_owner", "operator", "supplier_s", "supplier_t", "gateway", "ingest", "worker"},
        lambda w: pb.ListPlansRequest(),
    ),
    "TenancyService/GetTenant": row(
        A_TENANT_READERS | {"operator", "supplier_s"}, lambda w: pb.GetTenantRequest(tenant_id=w.a.id)
    ),
    "TenancyService/ChangePlan": row(
        {"operator", "supplier_s"}, lambda w: pb.ChangePlanRequest(tenant_id=w.a.id, plan_code="enterprise")
    ),
    "TenancyService/SetSubscriptionState": row(
        {"operator", "supplier_s"},
        lambda w: _toggle_state(w),
    ),
    "TenancyService/RequestSupplierTransfer": row({"a_owner", "b_owner"}, lambda w: _transfer_target(w)),
    "TenancyService/AcceptSupplierTransfer": row({"supplier_t"}, lambda w: _transfer_to_t(w)),
    "TenancyService/DeclineSupplierTransfer": row({"supplier_t"}, lambda w: _decline_to_t(w)),
    "TenancyService/ListSupplierTransfers": row(
        {"a_owner", "b_owner", "supplier_s", "supplier_t", "operator"},
        lambda w: pb.ListSupplierTransfersRequest(),
    ),
    "TenancyService/CreateUser": row(
        {"operator"},
        lambda w: pb.CreateUserRequest(
            email=f"u-{secrets.token_hex(4)}@example.com",
            password="p" * 12,
            display_name="U",
            role=pb.ROLE_VIEWER,
            tenant_id=w.a.id,
        ),
    ),
    "TenancyService/InviteUser": row(
        MANAGERS_ANYWHERE,
        lambda w: pb.InviteUserRequest(email=f"i-{secrets.token_hex(4)}@example.com", role=pb.ROLE_VIEWER),
    ),
    # Open invitations: a tenant's owners and admins, each their own tenant's.
    "TenancyService/ListInvitations": row(MANAGERS_ANYWHERE, lambda w: pb.ListInvitationsRequest()),
    "TenancyService/AcceptInvitation": row(
        {"gateway"},
        lambda w: pb.AcceptInvitationRequest(token="sfi_unknown"),
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    "TenancyService/RequestPasswordReset": row(
        {"gateway"}, lambda w: pb.RequestPasswordResetRequest(email="n@example.com")
    ),
    "TenancyService/ResetPassword": row(
        {"gateway"},
        lambda w: pb.ResetPasswordRequest(token="sfr_unknown", new_password="p" * 12),
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    "TenancyService/CreateAsset": row(
        {"a_owner"},
        lambda w: pb.CreateAssetRequest(
            parent_id=w.machine.rsplit("/", 1)[0] if False else _line_of(w),
            kind=pb.ASSET_KIND_MACHINE,
            name=f"M {secrets.token_hex(3)}",
        ),
    ),
    "TenancyService/CreateSeries": row(
        {"a_owner"},
        lambda w: pb.CreateSeriesRequest(
            machine_id=w.machine, name=f"s_{secrets.token_hex(3)}", unit="", kind="gauge"
        ),
    ),
    "TenancyService/UpdateAsset": row(
        {"a_owner"}, lambda w: pb.UpdateAssetRequest(asset_id=w.machine, name=f"M {secrets.token_hex(3)}")
    ),
    "TenancyService/DeleteAsset": row({"a_owner"}, lambda w: _fresh_asset(w)),
    "TenancyService/DeleteSeries": row({"a_owner"}, lambda w: _fresh_series(w)),
    "TenancyService/CreateDevice": row(
        MANAGERS_ANYWHERE, lambda w: pb.CreateDeviceRequest(name=f"d-{secrets.token_hex(3)}")
    ),
    "TenancyService/RotateDeviceCredential": row(
        {"a_owner"}, lambda w: pb.RotateDeviceCredentialRequest(device_id=w.device)
    ),
    "TenancyService/RevokeDevice": row({"a_owner"}, lambda w: _fresh_device(w)),
    "TenancyService/CreateApiKey": row(
        MANAGERS_ANYWHERE, lambda w: pb.CreateApiKeyRequest(name=f"k-{secrets.token_hex(3)}", scopes=["read"])
    ),
    "TenancyService/ListApiKeys": row({"a_owner", "b_owner"}, lambda w: pb.ListApiKeysRequest()),
    "TenancyService/RevokeApiKey": row({"a_owner"}, lambda w: _fresh_key(w)),
    "TenancyService/ListAssets": row(A_TENANT_READERS | {"b_owner"}, lambda w: pb.ListAssetsRequest()),
    "TenancyService/ListSeries": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: pb.ListSeriesRequest(series_ids=[w.series])
    ),
    # Only an ingest or gateway token scoped to a tenant may report usage (the dedicated usage test shows it).
    "TenancyService/RecordUsage": row(set(), lambda w: pb.RecordUsageRequest(day="2026-11-29", points=1)),
    "TenancyService/RecordApiCalls": row(
        set(), lambda w: pb.RecordApiCallsRequest(day="2026-11-29", calls=1)
    ),
    "TenancyService/GetUsage": row(
        {"a_owner", "b_owner", "supplier_s", "supplier_t", "operator"},
        lambda w: pb.GetUsageRequest(first_day="2026-01-01", last_day="2026-12-31"),
    ),
    "TenancyService/ExportBilling": row(
        {"supplier_s", "supplier_t", "operator"}, lambda w: pb.ExportBillingRequest(month="2026-11")
    ),
    "TenancyService/ListAuditEvents": row(
        {"a_owner", "b_owner", "supplier_s", "supplier_t", "operator"}, lambda w: pb.ListAuditEventsRequest()
    ),
    # Only the worker, with a token scoped to the tenant, may have a tenant mailed (tests/tenancy/test_retention_mail.py).
    "TenancyService/RecordExport": row(
        set(), lambda w: pb.RecordExportRequest(export_id=str(uuid.uuid4()), requested_by="user:someone")
    ),
    "TenancyService/NotifyRetention": row(
        set(),
        lambda w: pb.NotifyRetentionRequest(
            notice_ns=1, deletes_before_ns=2, oldest_end_ns=1, retention_days=30, effective_ns=1
        ),
    ),
    "QueryService/GetRetentionNotice": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: query_pb2.GetRetentionNoticeRequest()
    ),
    "QueryService/DeviceActivity": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: query_pb2.DeviceActivityRequest()
    ),
    "TenancyService/ListDevices": row(A_TENANT_READERS | {"b_owner"}, lambda w: pb.ListDevicesRequest()),
    "QueryService/ReadPoints": row(
        A_TENANT_READERS, lambda w: query_pb2.ReadPointsRequest(series_id=w.series, range=RAW_RANGE)
    ),
    "QueryService/StreamPoints": row(
        A_TENANT_READERS, lambda w: query_pb2.StreamPointsRequest(series_id=w.series, range=RAW_RANGE)
    ),
    "QueryService/Aggregate": row(
        A_TENANT_READERS,
        lambda w: query_pb2.AggregateRequest(
            series_id=w.series, range=common_pb2.TimeRange(start_ns=0, end_ns=10**18), bucket_ns=10**13
        ),
    ),
    "QueryService/AlignedAggregate": row(
        A_TENANT_READERS,
        lambda w: query_pb2.AlignedAggregateRequest(
            series_ids=[w.series],
            range=common_pb2.TimeRange(start_ns=0, end_ns=10**18),
            bucket_ns=10**13,
            function=query_pb2.AGGREGATE_FUNCTION_SUM,
        ),
    ),
    "QueryService/ChartSeries": row(
        A_TENANT_READERS,
        lambda w: query_pb2.ChartSeriesRequest(
            series_id=w.series, range=common_pb2.TimeRange(start_ns=0, end_ns=10**18), columns=1_000
        ),
    ),
    "QueryService/LatestValues": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: query_pb2.LatestValuesRequest(series_ids=[w.series])
    ),
    # The directory is open to people and API keys; each supplier's admins write its own profile; only
    # analytics, with a token scoped to a tenant, records levels (tests/support/test_directory.py shows it).
    "DirectoryService/SearchSuppliers": row(
        DIRECTORY_READERS,
        lambda w: directory_pb2.SearchSuppliersRequest(text=w.principals["_supplier_s_name"]),
    ),
    "DirectoryService/GetSupplierListing": row(
        DIRECTORY_READERS, lambda w: directory_pb2.GetSupplierListingRequest(supplier_id=w.supplier_s)
    ),
    "DirectoryService/UpdateSupplierProfile": row(
        {"supplier_s", "supplier_t"},
        lambda w: directory_pb2.UpdateSupplierProfileRequest(
            profile=directory_pb2.SupplierProfile(specialties=["mes"])
        ),
    ),
    "DirectoryService/RecordLevel": row(
        set(), lambda w: directory_pb2.RecordLevelRequest(day="2026-01-01", level=1)
    ),
    # Tickets: A's people and A's supplier S only; B and T (with their own tickets) never see A's.
    "TicketService/OpenTicket": row(
        {"a_owner", "b_owner"}, lambda w: tickets_pb2.OpenTicketRequest(subject="help")
    ),
    "TicketService/ListTickets": row(
        A_TENANT_READERS | {"b_owner", "supplier_s", "supplier_t"}, lambda w: tickets_pb2.ListTicketsRequest()
    ),
    "TicketService/GetTicket": row(
        A_TENANT_READERS | {"supplier_s"}, lambda w: tickets_pb2.GetTicketRequest(ticket_id=w.ticket)
    ),
    "TicketService/CommentTicket": row(
        {"a_owner", "supplier_s"}, lambda w: tickets_pb2.CommentTicketRequest(ticket_id=w.ticket, body="seen")
    ),
    "TicketService/SetTicketStatus": row({"supplier_s"}, lambda w: _fresh_ticket_taken_up(w)),
    # Alarms: rules on A's series only by A's managers (B's owner gets NOT_FOUND for A's series and rules),
    # acting on alarms by A's owners, admins and operators, reading by A's readers; the internal calls only
    # by the worker (and analytics) with a token scoped to the tenant, which no principal here holds.
    "AlarmService/CreateAlarmRule": row({"a_owner"}, lambda w: _rule_request(w.series)),
    "AlarmService/UpdateAlarmRule": row(
        {"a_owner"}, lambda w: alarms_pb2.UpdateAlarmRuleRequest(rule_id=w.alarm_ids["rule"], spec=_spec())
    ),
    "AlarmService/DeleteAlarmRule": row({"a_owner"}, lambda w: _fresh_rule(w)),
    "AlarmService/ListAlarmRules": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: alarms_pb2.ListAlarmRulesRequest()
    ),
    "AlarmService/CreateAlarmEndpoint": row(
        MANAGERS_ANYWHERE,
        lambda w: alarms_pb2.CreateAlarmEndpointRequest(
            kind=alarms_pb2.ALARM_ENDPOINT_KIND_EMAIL, target="alarms@example.com"
        ),
    ),
    "AlarmService/DeleteAlarmEndpoint": row({"a_owner"}, lambda w: _fresh_endpoint(w)),
    "AlarmService/ListAlarmEndpoints": row(
        {"a_owner", "b_owner"}, lambda w: alarms_pb2.ListAlarmEndpointsRequest()
    ),
    "AlarmService/ListAlarms": row(A_TENANT_READERS | {"b_owner"}, lambda w: alarms_pb2.ListAlarmsRequest()),
    "AlarmService/GetAlarm": row(
        A_TENANT_READERS, lambda w: alarms_pb2.GetAlarmRequest(alarm_id=w.alarm_ids["alarm"])
    ),
    "AlarmService/AcknowledgeAlarm": row(
        {"a_owner"}, lambda w: _fresh_alarm(w, alarms_pb2.AcknowledgeAlarmRequest)
    ),
    "AlarmService/ClearAlarm": row({"a_owner"}, lambda w: _fresh_alarm(w, alarms_pb2.ClearAlarmRequest)),
    "AlarmService/CommentAlarm": row(
        {"a_owner"}, lambda w: alarms_pb2.CommentAlarmRequest(alarm_id=w.alarm_ids["alarm"], comment="seen")
    ),
    "AlarmService/ReportAlarmCondition": row(
        set(),
        lambda w: alarms_pb2.ReportAlarmConditionRequest(
            rule_id=w.alarm_ids["rule"], kind=alarms_pb2.ALARM_RULE_KIND_THRESHOLD, time_ns=1, active=True
        ),
    ),
    "AlarmService/RecordAlarmDelivery": row(
        set(), lambda w: alarms_pb2.RecordAlarmDeliveryRequest(delivery_id=str(uuid.uuid4()), delivered=True)
    ),
    "AlarmService/ClaimAbandonedAlarmDeliveries": row(
        set(), lambda w: alarms_pb2.ClaimAbandonedAlarmDeliveriesRequest(older_than_s=1)
    ),
    "AlarmService/SendAlarmEmail": row(
        set(), lambda w: alarms_pb2.SendAlarmEmailRequest(delivery_id=str(uuid.uuid4()))
    ),
    # Production analytics (OEE, SPC): configuring needs A's owner or admin, reading any of A's readers;
    # B's owner gets NOT_FOUND for A's site, machine and series, as for ids that never existed.
    "ProductionService/SetSiteCalendar": row(
        {"a_owner"},
        lambda w: production_pb2.SetSiteCalendarRequest(
            calendar=production_pb2.SiteCalendar(
                site_id=w.principals["_site"],
                time_zone="Europe/Berlin",
                shifts=[production_pb2.Shift(name="day", start_minute=360, duration_minutes=480)],
            )
        ),
    ),
    "ProductionService/GetSiteCalendar": row(
        A_TENANT_READERS, lambda w: production_pb2.GetSiteCalendarRequest(site_id=w.principals["_site"])
    ),
    "ProductionService/SetMachineOeeSettings": row(
        {"a_owner"},
        lambda w: production_pb2.SetMachineOeeSettingsRequest(
            settings=production_pb2.MachineOeeSettings(machine_id=w.machine, ideal_cycle_s=30)
        ),
    ),
    "ProductionService/GetOee": row(
        A_TENANT_READERS,
        lambda w: production_pb2.GetOeeRequest(
            asset_id=w.machine,
            range=common_pb2.TimeRange(start_ns=time.time_ns() - 86_400 * 10**9, end_ns=time.time_ns()),
            period=production_pb2.OEE_PERIOD_DAY,
        ),
    ),
    # A's series holds one point: too short a baseline, refused after authorization and the series check.
    "ProductionService/SpcChart": row(
        A_TENANT_READERS, lambda w: _spc_chart(w), grpc.StatusCode.INVALID_ARGUMENT
    ),
    "ProductionService/RecordSpcEvents": row(
        {"a_owner"},
        lambda w: production_pb2.RecordSpcEventsRequest(chart=_spc_chart(w)),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "ProductionService/ListSpcEvents": row(
        A_TENANT_READERS,
        lambda w: production_pb2.ListSpcEventsRequest(series_id=w.series, range=TIME_RANGE),
    ),
    # The smart-factory level: any reader of a tenant, of its own tenant (tests/analytics/test_level.py).
    "LevelService/Assess": row(A_TENANT_READERS | {"b_owner"}, lambda w: level_pb2.AssessRequest()),
    "LevelService/History": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: level_pb2.HistoryRequest(range=_last_days(30))
    ),
    # Anomaly models: fitted by A's owners (A's machine holds one point: refused after the authorization and
    # the machine check), read by A's readers (A has none: NOT_FOUND for them as for everyone), anomalies
    # listed by every reader in its own tenant (tests/analytics/test_anomaly_worker.py).
    "AnomalyService/TrainModel": row(
        {"a_owner"},
        lambda w: anomaly_pb2.TrainModelRequest(machine_id=w.machine),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "AnomalyService/GetModel": row(
        A_TENANT_READERS,
        lambda w: anomaly_pb2.GetModelRequest(machine_id=w.machine),
        grpc.StatusCode.NOT_FOUND,
    ),
    "AnomalyService/ListAnomalies": row(
        A_TENANT_READERS | {"b_owner"}, lambda w: anomaly_pb2.ListAnomaliesRequest(range=_last_days(30))
    ),
    # Plant reports: A's readers get A's site's report (tests/analytics/test_reports.py).
    "ReportService/PlantReport": row(
        A_TENANT_READERS,
        lambda w: reports_pb2.PlantReportRequest(
            site_id=w.principals["_site"],
            period=reports_pb2.REPORT_PERIOD_DAY,
            date="2026-05-04",
            format=reports_pb2.REPORT_FORMAT_CSV,
        ),
    ),
    # Exports: a tenant's owners and admins and its read keys, each in its own tenant (tests/worker/test_exports.py).
    "ExportService/StartExport": row(EXPORTERS | {"b_owner"}, lambda w: export_pb2.StartExportRequest()),
    "ExportService/GetExport": row(EXPORTERS, lambda w: export_pb2.GetExportRequest(export_id=w.export)),
    # Each lists its own: a tenant's exporters their tenant's, a supplier's staff its exports of grants.
    "ExportService/ListExports": row(
        EXPORTERS | {"b_owner", "supplier_s", "supplier_t"}, lambda w: export_pb2.ListExportsRequest()
    ),
    "ExportService/ReadExport": row(EXPORTERS, lambda w: export_pb2.ReadExportRequest(export_id=w.export)),
    # A grant's export by its grantee only (tests/sharing/test_grant_exports.py): A's own exporters find no such
    # grant to them, nor do suppliers S and T; B's export names the grant it exports. A supplier grantee's
    # export is its own: test_a_suppliers_export_of_a_grant_is_its_own below.
    "ExportService/StartGrantExport": row(
        {"b_owner"},
        lambda w: export_pb2.StartGrantExportRequest(grant_id=w.grant),
        shared_with=frozenset({"b_owner"}),
    ),
    # Data sharing (tests/sharing/test_sharing.py): A's owners grant, revoke and read each grant's log; every
    # organisation lists what it was given (B: A's grant); only B reads A's data under A's grant, and only
    # analytics, with a token scoped to a grantee, asks tenancy to decide such a read.
    "SharingService/CreateGrant": row({"a_owner"}, lambda w: _fresh_grant(w)),
    "SharingService/RevokeGrant": row({"a_owner"}, lambda w: _fresh_grant_to_revoke(w)),
    "SharingService/ListGrants": row({"a_owner", "b_owner"}, lambda w: sharing_pb2.ListGrantsRequest()),
    "SharingService/ListSharedWithMe": row(
        A_TENANT_READERS | {"b_owner", "supplier_s", "supplier_t"},
        lambda w: sharing_pb2.ListSharedWithMeRequest(),
        shared_with=frozenset({"b_owner"}),
    ),
    "SharingService/ListGrantAccesses": row(
        {"a_owner"}, lambda w: sharing_pb2.ListGrantAccessesRequest(grant_id=w.grant)
    ),
    "SharingService/AuthorizeSharedRead": row(
        set(),
        lambda w: sharing_pb2.AuthorizeSharedReadRequest(
            grant_id=w.grant, series_id=w.series, range=TIME_RANGE, reader="user:someone"
        ),
    ),
    # Only the worker asks, with a token scoped to the grantee tenant: no caller here is that.
    "SharingService/AuthorizeGrantExport": row(
        set(),
        lambda w: sharing_pb2.AuthorizeGrantExportRequest(
            grant_id=w.grant,
            export_id=str(uuid.uuid4()),
            reader="user:someone",
            stage=sharing_pb2.GRANT_EXPORT_STAGE_REQUEST,
        ),
    ),
    "SharingService/SetAnalysisPartner": row(
        {"operator"},
        lambda w: sharing_pb2.SetAnalysisPartnerRequest(
            supplier_id=w.principals["_supplier_u"], partner=True
        ),
    ),
    # The programme operator's tools (tests/programme/): the utilisation report and its reviews are the
    # operator's alone (an unknown rule shows the operator got past authorization); only tenancy asks
    # analytics what devices stored; every signed-in person files and lists its own reports.
    "QueryService/DeviceUsage": row(
        set(), lambda w: query_pb2.DeviceUsageRequest(first_day="2026-11-01", last_day="2026-11-30")
    ),
    "ProgrammeService/SetSubsidised": row(
        {"operator"}, lambda w: programme_pb2.SetSubsidisedRequest(tenant_id=w.a.id, subsidised=False)
    ),
    "ProgrammeService/GetUtilisationReport": row(
        {"operator"},
        lambda w: programme_pb2.GetUtilisationReportRequest(month=_this_month(), tenant_id=w.a.id),
    ),
    "ProgrammeService/ExportUtilisationReport": row(
        {"operator"}, lambda w: programme_pb2.ExportUtilisationReportRequest(month="2020-01")
    ),
    "ProgrammeService/ReviewUtilisationFlag": row(
        {"operator"},
        lambda w: programme_pb2.ReviewUtilisationFlagRequest(
            tenant_id=w.a.id, month=_this_month(), rule="NO_SUCH_RULE", note="matrix"
        ),
        allowed_outcome=grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "ProgrammeService/FileReport": row(
        PEOPLE,
        lambda w: programme_pb2.FileReportRequest(
            category=programme_pb2.REPORT_CATEGORY_MISUSE, subject="matrix", body="suspected misuse"
        ),
    ),
    "ProgrammeService/ListReports": row(PEOPLE, lambda w: programme_pb2.ListReportsRequest()),
    "ProgrammeService/MoveReport": row({"operator"}, lambda w: _fresh_report_to_move(w)),
    "ProgrammeService/GetLevelDistribution": row(
        {"operator"}, lambda w: programme_pb2.GetLevelDistributionRequest()
    ),
    "SharedQueryService/ReadSharedPoints": row(
        {"b_owner"},
        lambda w: sharing_pb2.ReadSharedPointsRequest(grant_id=w.grant, series_id=w.series, range=RAW_RANGE),
    ),
    "SharedQueryService/AggregateShared": row(
        {"b_owner"},
        lambda w: sharing_pb2.AggregateSharedRequest(
            grant_id=w.grant, series_id=w.series, range=TIME_RANGE, bucket_ns=2**50
        ),
    ),
}
# Allowed for B (b_owner) means: the call is fine in B's own tenant. Whatever B gets must hold none of A's data.
# The query RPCs that name a series answer B's owner NOT_FOUND for A's series, as for one that never existed.
# Who may see A's ids in an answer: A's own principals, A's supplier and the operator (metadata), and the
# gateway and ingest when they resolve one of A's own credentials (they act for whoever presents it), and
# the worker, which lists every tenant (ids, plans, cells: no data) for retention.
ACTS_ON_A = {"a_owner", "a_viewer", "a_key_read", "supplier_s", "operator", "gateway", "ingest", "worker"}


def _this_month() -> str:
    return time.strftime("%Y-%m", time.gmtime())


async def _fresh_report_to_move(world: World) -> programme_pb2.MoveReportRequest:
    """A report A's owner just filed, for the operator to take up."""
    request = programme_pb2.FileReportRequest(
        category=programme_pb2.REPORT_CATEGORY_MISUSE, subject="matrix", body="to investigate"
    )
    filed = await world.principals["_call"]("ProgrammeService/FileReport", request, "a_owner")
    return programme_pb2.MoveReportRequest(
        report_id=filed.report.id, status=programme_pb2.REPORT_STATUS_INVESTIGATING, note="looking"
    )


def _spc_chart(world: World) -> production_pb2.SpcChartRequest:
    return production_pb2.SpcChartRequest(
        series_id=world.series, range=TIME_RANGE, chart=production_pb2.SPC_CHART_KIND_I_MR
    )


async def _toggle_state(world: World) -> pb.SetSubscriptionStateRequest:
    """A valid next state for A each time (active ⇄ past_due), so every allowed caller can succeed."""
    current = await world.principals["_call"](
        "TenancyService/GetTenant", pb.GetTenantRequest(tenant_id=world.a.id), "operator"
    )
    state = (
        pb.SUBSCRIPTION_STATE_PAST_DUE
        if current.tenant.state == pb.SUBSCRIPTION_STATE_ACTIVE
        else pb.SUBSCRIPTION_STATE_ACTIVE
    )
    return pb.SetSubscriptionStateRequest(tenant_id=world.a.id, state=state)


async def _decline_to_t(world: World) -> pb.DeclineSupplierTransferRequest:
    """A fresh request to T (as for accepting): only T may decline it."""
    asked = await _transfer_to_t(world)
    return pb.DeclineSupplierTransferRequest(transfer_id=asked.transfer_id, note="fully booked")


async def _fresh_ticket_taken_up(world: World) -> tickets_pb2.SetTicketStatusRequest:
    """A new open ticket of A, to be taken up (open → in progress): S's move alone."""
    opened = await world.principals["_call"](
        "TicketService/OpenTicket", tickets_pb2.OpenTicketRequest(subject="stuck"), "a_owner"
    )
    return tickets_pb2.SetTicketStatusRequest(
        ticket_id=opened.ticket.id, status=tickets_pb2.TICKET_STATUS_IN_PROGRESS
    )


def _grant_request(world: World, series_id: str) -> sharing_pb2.CreateGrantRequest:
    """Raw points of one of A's series, of all time, to B for a day."""
    return sharing_pb2.CreateGrantRequest(
        grantee_kind=sharing_pb2.GRANTEE_KIND_TENANT,
        grantee_id=world.b.id,
        series_ids=[series_id],
        range=TIME_RANGE,
        granularity=sharing_pb2.GRANULARITY_RAW,
        purpose="isolation matrix",
        expires_ns=time.time_ns() + 86_400 * 10**9,
    )


async def _fresh_grant(world: World) -> sharing_pb2.CreateGrantRequest:
    """A grant of a new series of A (so it overlaps no other)."""
    return _grant_request(world, (await _fresh_series(world)).series_id)


async def _fresh_grant_to_revoke(world: World) -> sharing_pb2.RevokeGrantRequest:
    made = await world.principals["_call"]("SharingService/CreateGrant", await _fresh_grant(world), "a_owner")
    return sharing_pb2.RevokeGrantRequest(grant_id=made.grant.id)


def _line_of(world: World) -> str:
    return world.principals["_line"]  # stored by the fixture


def _transfer_target(world: World) -> pb.RequestSupplierTransferRequest:
    """A request to move to supplier U, which neither A nor B has yet."""
    return pb.RequestSupplierTransferRequest(to_supplier_id=world.principals["_supplier_u"])


async def _transfer_to_t(world: World) -> pb.AcceptSupplierTransferRequest:
    """A fresh tenant of S whose owner asked to move to T: only T may accept it."""
    call = world.principals["_call"]
    request = pb.CreateTenantRequest(
        name=f"C {secrets.token_hex(4)}", plan_code="starter", supplier_id=world.supplier_s
    )
    tenant = (await call("TenancyService/CreateTenant", request, "operator")).tenant
    world.principals["_c_owner"] = Principal(
        Kind.USER, str(uuid.uuid4()), tenant_id=uuid.UUID(tenant.id), role=Role.OWNER
    )
    asked = await call(
        "TenancyService/RequestSupplierTransfer",
        pb.RequestSupplierTransferRequest(to_supplier_id=world.principals["_supplier_t"]),
        "_c_owner",
    )
    return pb.AcceptSupplierTransferRequest(transfer_id=asked.transfer_id)


async def _fresh_asset(world: World) -> pb.DeleteAssetRequest:
    request = pb.CreateAssetRequest(
        parent_id=_line_of(world), kind=pb.ASSET_KIND_MACHINE, name=f"x-{secrets.token_hex(3)}"
    )
    created = await world.principals["_call"]("TenancyService/CreateAsset", request, "a_owner")
    return pb.DeleteAssetRequest(asset_id=created.asset.id)


async def _fresh_series(world: World) -> pb.DeleteSeriesRequest:
    request = pb.CreateSeriesRequest(
        machine_id=world.machine, name=f"x_{secrets.token_hex(3)}", unit="", kind="gauge"
    )
    created = await world.principals["_call"]("TenancyService/CreateSeries", request, "a_owner")
    return pb.DeleteSeriesRequest(series_id=created.series.id)


async def _fresh_device(world: World) -> pb.RevokeDeviceRequest:
    created = await world.principals["_call"](
        "TenancyService/CreateDevice", pb.CreateDeviceRequest(name=f"r-{secrets.token_hex(3)}"), "a_owner"
    )
    return pb.RevokeDeviceRequest(device_id=created.device.id)


async def _fresh_key(world: World) -> pb.RevokeApiKeyRequest:
    created = await world.principals["_call"](
        "TenancyService/CreateApiKey",
        pb.CreateApiKeyRequest(name=f"r-{secrets.token_hex(3)}", scopes=["read"]),
        "a_owner",
    )
    return pb.RevokeApiKeyRequest(key_id=created.api_key.id)


def _last_days(days: int) -> common_pb2.TimeRange:
    now = time.time_ns()
    return common_pb2.TimeRange(start_ns=now - days * 86_400 * 10**9, end_ns=now + 3600 * 10**9)


def _spec() -> alarms_pb2.AlarmRuleSpec:
    return alarms_pb2.AlarmRuleSpec(
        name="hot",
        severity=alarms_pb2.ALARM_SEVERITY_WARNING,
        condition=alarms_pb2.ALARM_CONDITION_ABOVE,
        threshold=80,
        enabled=True,
    )


def _rule_request(series_id: str) -> alarms_pb2.CreateAlarmRuleRequest:
    return alarms_pb2.CreateAlarmRuleRequest(
        kind=alarms_pb2.ALARM_RULE_KIND_THRESHOLD, series_id=series_id, spec=_spec()
    )


async def _fresh_rule(world: World) -> alarms_pb2.DeleteAlarmRuleRequest:
    created = await world.principals["_call"](
        "AlarmService/CreateAlarmRule", _rule_request(world.series), "a_owner"
    )
    return alarms_pb2.DeleteAlarmRuleRequest(rule_id=created.rule.id)


async def _fresh_endpoint(world: World) -> alarms_pb2.DeleteAlarmEndpointRequest:
    request = alarms_pb2.CreateAlarmEndpointRequest(
        kind=alarms_pb2.ALARM_ENDPOINT_KIND_WEBHOOK, target="https://hooks.example.com/a"
    )
    created = await world.principals["_call"]("AlarmService/CreateAlarmEndpoint", request, "a_owner")
    return alarms_pb2.DeleteAlarmEndpointRequest(endpoint_id=created.endpoint.id)


async def _raised_alarm(world: World) -> str:
    """A new alarm of A: a fresh rule whose condition A's worker reports."""
    call = world.principals["_call"]
    rule = (await call("AlarmService/CreateAlarmRule", _rule_request(world.series), "a_owner")).rule
    report = alarms_pb2.ReportAlarmConditionRequest(
        rule_id=rule.id,
        kind=alarms_pb2.ALARM_RULE_KIND_THRESHOLD,
        time_ns=time.time_ns(),
        active=True,
        value=81,
    )
    return (await call("AlarmService/ReportAlarmCondition", report, "_a_worker")).transitions[0].alarm.id


async def _fresh_alarm(world: World, message):
    return message(alarm_id=await _raised_alarm(world))


async def _finished_export(call) -> str:
    """An export of A, done (so ReadExport has a package to read)."""
    started = await call("ExportService/StartExport", export_pb2.StartExportRequest(), "a_owner")
    request = export_pb2.GetExportRequest(export_id=started.export.id)
    for _ in range(200):
        found = (await call("ExportService/GetExport", request, "a_owner")).export
        if found.state == export_pb2.EXPORT_STATE_DONE:
            return found.id
        await asyncio.sleep(0.05)
    raise AssertionError(f"A's export did not finish: {found}")


def declared_methods() -> set[str]:
    names = set()
    services = (
        (tenancy_pb2, "TenancyService"),
        (query_pb2, "QueryService"),
        (production_pb2, "ProductionService"),
        (level_pb2, "LevelService"),
        (anomaly_pb2, "AnomalyService"),
        (reports_pb2, "ReportService"),
        (alarms_pb2, "AlarmService"),
        (export_pb2, "ExportService"),
        (directory_pb2, "DirectoryService"),
        (tickets_pb2, "TicketService"),
        (sharing_pb2, "SharingService"),
        (sharing_pb2, "SharedQueryService"),
        (programme_pb2, "ProgrammeService"),
    )
    for module, service in services:
        for method in module.DESCRIPTOR.services_by_name[service].methods:
            names.add(f"{service}/{method.name}")
    return names


def test_every_method_has_a_row():
    """RELIABILITY I1: Every gRPC method in the protos has a row in the matrix."""
    assert declared_methods() - set(ROWS) == set(), "add a row to ROWS for each new method"
    assert set(ROWS) - declared_methods() == set()


@pytest.fixture(scope="module")
async def world(stack, signer):
    channels = {
        name: grpc.aio.insecure_channel(stack.targets[target])
        for name, target in (
            ("TenancyService", "tenancy"),
            ("QueryService", "analytics"),
            ("ProductionService", "analytics"),
            ("LevelService", "analytics"),
            ("AnomalyService", "analytics"),
            ("ReportService", "analytics"),
            ("ExportService", "worker"),
        )
    }
    stubs = {
        "TenancyService": tenancy_pb2_grpc.TenancyServiceStub(channels["TenancyService"]),
        "QueryService": query_pb2_grpc.QueryServiceStub(channels["QueryService"]),
        "AlarmService": alarms_pb2_grpc.AlarmServiceStub(channels["TenancyService"]),
        "ProductionService": production_pb2_grpc.ProductionServiceStub(channels["ProductionService"]),
        "LevelService": level_pb2_grpc.LevelServiceStub(channels["LevelService"]),
        "AnomalyService": anomaly_pb2_grpc.AnomalyServiceStub(channels["AnomalyService"]),
        "ReportService": reports_pb2_grpc.ReportServiceStub(channels["ReportService"]),
        "ExportService": export_pb2_grpc.ExportServiceStub(channels["ExportService"]),
        "DirectoryService": directory_pb2_grpc.DirectoryServiceStub(channels["TenancyService"]),
        "TicketService": tickets_pb2_grpc.TicketServiceStub(channels["TenancyService"]),
        "SharingService": sharing_pb2_grpc.SharingServiceStub(channels["TenancyService"]),
        "SharedQueryService": sharing_pb2_grpc.SharedQueryServiceStub(channels["QueryService"]),
        "ProgrammeService": programme_pb2_grpc.ProgrammeServiceStub(channels["TenancyService"]),
    }
    principals: dict = {}

    async def call(method: str, request, who: str):
        principal = principals[who]
        metadata = ((METADATA_KEY, signer.sign(principal)),) if principal else ()
        service, name = method.split("/")
        rpc = getattr(stubs[service], name)(request, metadata=metadata, timeout=10)
        if hasattr(rpc, "__aiter__"):  # a server stream: all its messages
            return [message async for message in rpc]
        return await rpc

    principals["operator"] = OPERATOR
    s = (
        await call(
            "TenancyService/CreateSupplier",
            pb.CreateSupplierRequest(name=f"S {secrets.token_hex(4)}"),
            "operator",
        )
    ).supplier
    t = (
        await call(
            "TenancyService/CreateSupplier",
            pb.CreateSupplierRequest(name=f"T {secrets.token_hex(4)}"),
            "operator",
        )
    ).supplier
    u = (
        await call(
            "TenancyService/CreateSupplier",
            pb.CreateSupplierRequest(name=f"U {secrets.token_hex(4)}"),
            "operator",
        )
    ).supplier
    principals.update({"_supplier_t": t.id, "_supplier_u": u.id, "_supplier_s_name": s.name})
    for name, supplier in (("supplier_s", s), ("supplier_t", t)):
        staff = await call(
            "TenancyService/CreateSupplierUser",
            pb.CreateSupplierUserRequest(
                supplier_id=supplier.id,
                email=f"{name}-{secrets.token_hex(4)}@example.com",
                password="p" * 12,
                display_name=name,
                role="admin",
            ),
            "operator",
        )
        principals[name] = Principal(Kind.USER, staff.user.id, supplier_id=uuid.UUID(supplier.id))
    a = (
        await call(
            "TenancyService/CreateTenant",
            pb.CreateTenantRequest(
                name=f"A {secrets.token_hex(4)}", plan_code="enterprise", supplier_id=s.id
            ),
            "operator",
        )
    ).tenant
    b = (
        await call(
            "TenancyService/CreateTenant",
            pb.CreateTenantRequest(name=f"B {secrets.token_hex(4)}", plan_code="pro", supplier_id=t.id),
            "operator",
        )
    ).tenant
    a_id, b_id = uuid.UUID(a.id), uuid.UUID(b.id)
    principals.update(
        {
            "a_owner": Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a_id, role=Role.OWNER),
            "a_viewer": Principal(Kind.USER, str(uuid.uuid4()), tenant_id=a_id, role=Role.VIEWER),
            "a_key_read": Principal(
                Kind.API_KEY, str(uuid.uuid4()), tenant_id=a_id, scopes=frozenset({"read"})
            ),
            "b_owner": Principal(Kind.USER, str(uuid.uuid4()), tenant_id=b_id, role=Role.OWNER),
            "gateway": service_principal("gateway"),
            "ingest": service_principal("ingest"),
            "worker": service_principal("worker"),
            "anonymous": None,
        }
    )
    principals["_call"] = call

    class Owner:  # the helper from the tenancy tests, speaking as A's owner
        async def call(self, method, request, _principal):
            return await call(f"TenancyService/{method}", request, "a_owner")

    machine = await _machine(Owner(), principals["a_owner"])
    tree = (await call("TenancyService/ListAssets", pb.ListAssetsRequest(), "a_owner")).assets
    principals["_line"] = tree[1].id
    principals["_site"] = next(a.id for a in tree if a.kind == pb.ASSET_KIND_SITE)
    series = (
        await call(
            "TenancyService/CreateSeries",
            pb.CreateSeriesRequest(machine_id=machine, name="temp", unit="", kind="gauge"),
            "a_owner",
        )
    ).series
    device = await call("TenancyService/CreateDevice", pb.CreateDeviceRequest(name="edge"), "a_owner")
    created_key = await call(
        "TenancyService/CreateApiKey", pb.CreateApiKeyRequest(name="k", scopes=["read"]), "a_owner"
    )
    key = created_key.api_key
    member = f"member-{secrets.token_hex(4)}@example.com"
    await call(
        "TenancyService/CreateUser",
        pb.CreateUserRequest(
            email=member, password="p" * 12, display_name="M", role=pb.ROLE_VIEWER, tenant_id=a.id
        ),
        "operator",
    )
    principals.update({"_member": member, "_credential": device.credential, "_key": created_key.key})
    await send_batches(
        stack.targets["ingest"], device.credential, [batch(series.id, [time.time_ns()], [1.0])]
    )
    export = await _finished_export(call)
    principals["_a_worker"] = service_principal("worker", a_id)
    world = World(a, b, s.id, machine, series.id, device.device.id, key.id, export, principals)
    world.alarm_ids["rule"] = (
        await call("AlarmService/CreateAlarmRule", _rule_request(series.id), "a_owner")
    ).rule.id
    world.alarm_ids["alarm"] = await _raised_alarm(world)
    opened = await call(
        "TicketService/OpenTicket", tickets_pb2.OpenTicketRequest(subject="A's question"), "a_owner"
    )
    world.ticket = opened.ticket.id
    world.grant = (
        await call("SharingService/CreateGrant", _grant_request(world, series.id), "a_owner")
    ).grant.id
    yield world
    for channel in channels.values():
        await channel.close()


PRINCIPALS = [
    "a_owner",
    "a_viewer",
    "a_key_read",
    "b_owner",
    "supplier_s",
    "supplier_t",
    "operator",
    "gateway",
    "ingest",
    "worker",
    "anonymous",
]


@pytest.mark.parametrize("method", sorted(ROWS))
async def test_matrix(world, method):
    """RELIABILITY I1: One gRPC method x every principal on tenant A's objects: no cross-tenant success,
    and a stranger's answer for A's ids is its answer for ids that do not exist."""
    spec, outcomes = ROWS[method], {}
    for who in PRINCIPALS:
        request = await spec.build(world)
        try:
            response = await world.principals["_call"](method, request, who)
        except grpc.aio.AioRpcError as error:
            outcomes[who] = error.code()
            if who not in spec.allowed | ACTS_ON_A | spec.shared_with:
                await _as_for_missing_ids(world, method, request, who, _answer(error))
            continue
        outcomes[who] = "ok"
        if who not in spec.allowed | ACTS_ON_A | spec.shared_with:
            await _as_for_missing_ids(world, method, request, who, ("ok", ""))
        if who not in ACTS_ON_A | spec.shared_with:
            texts = [t for message in _messages(response) for t in _ids_in(message)]
            leaked = {i for i in world.a_ids() if any(i in text for text in texts)}
            assert not leaked, f"{method} as {who} returned A's ids {leaked}"
    wrong = {
        who: outcome
        for who, outcome in outcomes.items()
        if (outcome != spec.allowed_outcome if who in spec.allowed else outcome not in DENIED)
    }
    assert wrong == {}, f"{method}: {outcomes}"


def _answer(error: grpc.aio.AioRpcError) -> tuple[object, str]:
    return error.code(), error.details() or ""


async def _as_for_missing_ids(
    world: World, method: str, request, who: str, answer: tuple[object, str]
) -> None:
    """The same call with every id in it that is not B's or its supplier's replaced by a random one: the
    caller must get the same status and message (the asked ids blanked), so A's ids tell it nothing."""
    keep = {world.b.id, world.principals["_supplier_t"], world.principals["_supplier_u"]}
    missing = type(request)()
    missing.CopyFrom(request)
    swapped = _swap_ids(missing, keep)
    if not swapped:
        return  # the call names none of A's objects
    try:
        await world.principals["_call"](method, missing, who)
        other = ("ok", "")
    except grpc.aio.AioRpcError as error:
        other = _answer(error)

    def blank(found: tuple[object, str], ids) -> tuple[object, str]:
        code, details = found
        for asked in ids:
            details = details.replace(asked, "<id>")
        return code, details

    assert blank(answer, swapped) == blank(other, swapped.values()), (
        f"{method} as {who}: A's ids answered {answer}, missing ids {other}"
    )


def _swap_ids(message, keep: set[str], swapped: dict[str, str] | None = None) -> dict[str, str]:
    """Replace each UUID-shaped string field (at any depth) not in ``keep`` by a random UUID, the same
    one wherever an id recurs; returns old → new."""
    swapped = {} if swapped is None else swapped
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE:
            if not descriptor.message_type.GetOptions().map_entry:
                for item in value if descriptor.is_repeated else [value]:
                    _swap_ids(item, keep, swapped)
            continue
        if descriptor.type != descriptor.TYPE_STRING:
            continue
        items = list(value) if descriptor.is_repeated else [value]
        replaced = [
            swapped.setdefault(v, str(uuid.uuid4())) if _is_uuid(v) and v not in keep else v for v in items
        ]
        if descriptor.is_repeated:
            del value[:]
            value.extend(replaced)
        else:
            setattr(message, descriptor.name, replaced[0])
    return swapped


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


# S's export of A's grant to S (tests/sharing/test_supplier_grant_exports.py): S's alone — not A's, whose data
# it holds (the grantor sees it in the grant's access log only), not T's, not B's.
SUPPLIER_EXPORT_ROWS = {
    "ExportService/GetExport": lambda export: export_pb2.GetExportRequest(export_id=export),
    "ExportService/ReadExport": lambda export: export_pb2.ReadExportRequest(export_id=export),
}


@pytest.fixture(scope="module")
async def supplier_export(world) -> str:
    """A grant of A's series to its supplier S, exported by S's admin, done."""
    call = world.principals["_call"]
    to_s = _grant_request(world, world.series)
    to_s.grantee_kind, to_s.grantee_id = sharing_pb2.GRANTEE_KIND_SUPPLIER, world.supplier_s
    made = (await call("SharingService/CreateGrant", to_s, "a_owner")).grant
    request = export_pb2.StartGrantExportRequest(grant_id=made.id)
    started = (await call("ExportService/StartGrantExport", request, "supplier_s")).export
    for _ in range(200):
        found = (
            await call(
                "ExportService/GetExport", export_pb2.GetExportRequest(export_id=started.id), "supplier_s"
            )
        ).export
        if found.state == export_pb2.EXPORT_STATE_DONE:
            return found.id
        await asyncio.sleep(0.05)
    raise AssertionError(f"S's export did not finish: {found}")


@pytest.mark.parametrize("method", sorted(SUPPLIER_EXPORT_ROWS))
async def test_a_suppliers_export_of_a_grant_is_its_own(world, supplier_export, method):
    outcomes = {}
    for who in PRINCIPALS:
        try:
            await world.principals["_call"](method, SUPPLIER_EXPORT_ROWS[method](supplier_export), who)
            outcomes[who] = "ok"
        except grpc.aio.AioRpcError as error:
            outcomes[who] = error.code()
    wrong = {w: o for w, o in outcomes.items() if (o != "ok" if w == "supplier_s" else o not in DENIED)}
    assert wrong == {}, f"{method}: {outcomes}"
    listed = await world.principals["_call"](
        "ExportService/ListExports", export_pb2.ListExportsRequest(), "a_owner"
    )
    assert supplier_export not in {e.id for e in listed.exports}


def _messages(response) -> list:
    return response if isinstance(response, list) else [response]


def _ids_in(message) -> list[str]:
    """Every string field anywhere in a protobuf message (ids among them)."""
    found = []
    for descriptor, value in message.ListFields():
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            found += [str(part) for pair in value.items() for part in pair]  # a map: its keys and values
            continue
        for item in value if descriptor.is_repeated else [value]:
            if descriptor.type == descriptor.TYPE_MESSAGE:
                found += _ids_in(item)
            elif isinstance(item, str):
                found.append(item)
    return found
