"""The programme operator's tools (docs/PROGRAMME.md): the monthly utilisation report with its flags, their
review and a CSV of it, the subsidised mark; and the report centre, where anyone signed in reports suspected
misuse or a problem with a supplier, confidentially, and the operator works each report to an outcome.

Tenancy decides who may do what; the permission classes here refuse the obvious callers early. The CSV is a
field returning text rather than an HTTP download: it is one table, a short row per tenant, and a field keeps
its authorization in one place with the report it copies. Tenancy computes each tenant's month when its page
is read, so the CSV is gathered a page per call, each call well within its deadline."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import MAX_FIRST, PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import IsPlatformOperator, IsSignedInPerson
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After
from sfcloud.v1 import programme_pb2 as pb


@strawberry.enum(description="What a report is about.")
class ReportCategory(enum.Enum):
    MISUSE = pb.REPORT_CATEGORY_MISUSE
    SUPPLIER = pb.REPORT_CATEGORY_SUPPLIER


@strawberry.enum(description="Where a report stands: received → investigating → closed (with an outcome).")
class ReportStatus(enum.Enum):
    RECEIVED = pb.REPORT_STATUS_RECEIVED
    INVESTIGATING = pb.REPORT_STATUS_INVESTIGATING
    CLOSED = pb.REPORT_STATUS_CLOSED


@strawberry.type(description="How often a feature was used in the month.")
class FeatureUse:
    feature: str = strawberry.field(description="api_calls, alarm_rules, exports, sharing_grants or tickets.")
    count: int


@strawberry.type(description="A tenant's smart-factory level on one UTC day.")
class DayLevel:
    day: str
    level: int


@strawberry.type(description="A rule of tenants/utilisation_rules.yaml that a tenant's month breaks.")
class UtilisationFlag:
    rule: str
    description: str
    metric: str
    value: float = strawberry.field(
        description="The metric this month; flagged because it is below threshold."
    )
    threshold: float
    evidence: str = strawberry.field(description="The numbers behind the flag, for people.")
    reviewed_at: Timestamp | None
    reviewed_by: str | None
    review_note: str | None

    @classmethod
    def from_pb(cls, f: pb.UtilisationFlag) -> UtilisationFlag:
        return cls(
            rule=f.rule,
            description=f.description,
            metric=f.metric,
            value=f.value,
            threshold=f.threshold,
            evidence=f.evidence,
            reviewed_at=f.reviewed_ns or None,
            reviewed_by=f.reviewed_by or None,
            review_note=f.review_note or None,
        )


@strawberry.type(description="One tenant's month: is it really using the platform?")
class TenantUtilisation:
    tenant_id: strawberry.ID
    tenant_name: str
    supplier_id: strawberry.ID | None
    plan: str
    state: str
    subsidised: bool
    month: str
    days_counted: int = strawberry.field(
        description="The month's days, or up to today for the current month."
    )
    days_with_data: int
    registered_devices: int = strawberry.field(description="Devices registered at some time in the month.")
    reporting_devices: int = strawberry.field(description="Of those, the devices that stored data in it.")
    points: float = strawberry.field(description="Points stored in the month.")
    bytes: float = strawberry.field(description="Compressed bytes stored in the month.")
    logins: int = strawberry.field(description="Successful sign-ins into the tenant.")
    login_users: int = strawberry.field(description="People who signed in.")
    features: list[FeatureUse]
    levels: list[DayLevel] = strawberry.field(description="Daily smart-factory levels, oldest first.")
    flags: list[UtilisationFlag]
    telemetry_unavailable: bool = strawberry.field(
        description="The tenant's cell did not answer: its data days, devices reporting, points and bytes are"
        " unknown (shown as 0) and the rules judging them raise nothing."
    )

    @classmethod
    def from_pb(cls, t: pb.TenantUtilisation) -> TenantUtilisation:
        return cls(
            tenant_id=strawberry.ID(t.tenant_id),
            tenant_name=t.tenant_name,
            supplier_id=strawberry.ID(t.supplier_id) if t.supplier_id else None,
            plan=t.plan,
            state=t.state,
            subsidised=t.subsidised,
            month=t.month,
            days_counted=t.days_counted,
            days_with_data=t.days_with_data,
            registered_devices=t.registered_devices,
            reporting_devices=t.reporting_devices,
            points=t.points,
            bytes=t.bytes,
            logins=t.logins,
            login_users=t.login_users,
            features=[FeatureUse(feature=f.feature, count=f.count) for f in t.features],
            levels=[DayLevel(day=d.day, level=d.level) for d in t.levels],
            flags=[UtilisationFlag.from_pb(f) for f in t.flags],
            telemetry_unavailable=t.telemetry_unavailable,
        )


@strawberry.type(
    description="A page of the month's utilisation report, tenants by name; with flaggedOnly, the flagged"
    " ones of the page's tenants (so maybe fewer nodes than asked, even none, and a next page still)."
)
class TenantUtilisationConnection:
    nodes: list[TenantUtilisation]
    page_info: PageInfo


@strawberry.type(description="How many tenants are at one smart-factory level now.")
class LevelCount:
    level: int = strawberry.field(description="0 (not even level 1) to 5.")
    tenants: int


@strawberry.type(description="One supplier's live tenants (trial, active or past due) by their latest level.")
class SupplierLevels:
    supplier_id: strawberry.ID | None = strawberry.field(
        description="Null for the operator's direct tenants."
    )
    levels: list[LevelCount] = strawberry.field(description="Levels 0 to 5, each with its tenants.")
    unassessed: int = strawberry.field(description="Tenants never assessed.")

    @classmethod
    def from_pb(cls, s: pb.SupplierLevels) -> SupplierLevels:
        return cls(
            supplier_id=strawberry.ID(s.supplier_id) if s.supplier_id else None,
            levels=[LevelCount(level=level, tenants=n) for level, n in enumerate(s.tenants_at_level)],
            unassessed=s.unassessed,
        )


@strawberry.type(description="One of the operator's moves of a report.")
class ReportMove:
    at: Timestamp
    from_status: ReportStatus
    to_status: ReportStatus
    note: str


@strawberry.type(description="A report to the programme. Only the operator and the reporter see it.")
class Report:
    id: strawberry.ID
    category: ReportCategory
    supplier_id: strawberry.ID | None = strawberry.field(description="The supplier reported on.")
    supplier_name: str | None
    subject: str
    body: str
    status: ReportStatus
    outcome: str | None = strawberry.field(description="Recorded when the operator closed the report.")
    created_at: Timestamp
    updated_at: Timestamp
    reporter: str = strawberry.field(description='"user:<id>" of the person who reported.')
    reporter_organisation: str | None = strawberry.field(
        description='"tenant:<id>" or "supplier:<id>" the reporter acted for.'
    )
    history: list[ReportMove] = strawberry.field(
        description="The operator's moves, oldest first (operator only)."
    )

    @classmethod
    def from_pb(cls, r: pb.Report) -> Report:
        return cls(
            id=strawberry.ID(r.id),
            category=ReportCategory(r.category),
            supplier_id=strawberry.ID(r.supplier_id) if r.supplier_id else None,
            supplier_name=r.supplier_name or None,
            subject=r.subject,
            body=r.body,
            status=ReportStatus(r.status),
            outcome=r.outcome or None,
            created_at=r.created_ns,
            updated_at=r.updated_ns,
            reporter=r.reporter,
            reporter_organisation=r.reporter_organisation or None,
            history=[
                ReportMove(
                    at=e.at_ns,
                    from_status=ReportStatus(e.from_status),
                    to_status=ReportStatus(e.to_status),
                    note=e.note,
                )
                for e in r.history
            ],
        )


@strawberry.type(description="A page of reports, newest first.")
class ReportConnection:
    nodes: list[Report]
    page_info: PageInfo


@strawberry.input(description="A report to the programme.")
class FileReportInput:
    category: ReportCategory
    supplier_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for SUPPLIER reports."
    )
    subject: str = strawberry.field(description="1 to 200 characters.")
    body: str = strawberry.field(description="1 to 10,000 characters.")


@strawberry.type(description="A report after it was filed or moved, or why that was refused.")
class ReportPayload:
    report: Report | None
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. SUPPLIER_NOT_FOUND, REPORT_NOT_FOUND, BAD_TRANSITION, OUTCOME_REQUIRED."
    )


@strawberry.type(description="A flag after it was marked reviewed, or why that was refused.")
class FlagReviewPayload:
    flag: UtilisationFlag | None
    errors: list[UserError] = strawberry.field(
        description="Empty when done; e.g. UNKNOWN_RULE, FLAG_NOT_RAISED, TENANT_NOT_FOUND, INVALID_ARGUMENT."
    )


@strawberry.type(description="Whether the tenant is now marked subsidised, or why that was refused.")
class SubsidisedPayload:
    subsidised: bool | None
    errors: list[UserError]


async def _call(info: Info, method: str, request):
    ctx = info.context
    return await ctx.backends.call(getattr(ctx.backends.programme, method), request, ctx.principal)


async def _every_page(info: Info, method: str, request) -> AsyncIterator:
    """Each page a paged method answers, from the first to the last (for fields answering a whole list)."""
    request.page_size = MAX_FIRST
    while True:
        page = await _call(info, method, request)
        yield page
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


async def _report(info: Info, method: str, request) -> ReportPayload:
    done, problems = await attempt(_call(info, method, request))
    return ReportPayload(report=Report.from_pb(done.report) if done else None, errors=problems)


@strawberry.type
class ProgrammeQuery:
    @strawberry.field(
        permission_classes=[IsPlatformOperator],
        description='The month\'s utilisation ("2026-11") of every tenant, or of one, with its flags (operator).',
        deprecation_reason="Use utilisationReportConnection: a cursor connection.",
    )
    async def utilisation_report(
        self, info: Info, month: str, tenant_id: strawberry.ID | None = None, flagged_only: bool = False
    ) -> list[TenantUtilisation]:
        request = pb.GetUtilisationReportRequest(
            month=month, tenant_id=tenant_id or "", flagged_only=flagged_only
        )
        pages = _every_page(info, "GetUtilisationReport", request)  # as the field answered before paging
        return [TenantUtilisation.from_pb(t) async for page in pages for t in page.tenants]

    @strawberry.field(
        permission_classes=[IsPlatformOperator],
        description='The month\'s utilisation ("2026-11") with its flags, `first` tenants at a time by name, or'
        " one tenant (operator). Each tenant is computed when its page is read; with flaggedOnly a page holds"
        " the flagged ones of its `first` tenants, so it may hold fewer nodes, even none, and a next page still.",
    )
    async def utilisation_report_connection(
        self,
        info: Info,
        month: str,
        tenant_id: strawberry.ID | None = None,
        flagged_only: bool = False,
        first: int = 50,
        after: After = None,
    ) -> TenantUtilisationConnection:
        request = pb.GetUtilisationReportRequest(
            month=month,
            tenant_id=tenant_id or "",
            flagged_only=flagged_only,
            page_size=checked_first(first),
            page_token=after or "",
        )
        found = await _call(info, "GetUtilisationReport", request)
        return TenantUtilisationConnection(
            nodes=[TenantUtilisation.from_pb(t) for t in found.tenants],
            page_info=page_info_from(found.next_page_token),
        )

    @strawberry.field(
        permission_classes=[IsPlatformOperator],
        description="The month's utilisation report as CSV, one row per tenant, every tenant (operator).",
    )
    async def utilisation_report_csv(self, info: Info, month: str) -> str:
        request = pb.ExportUtilisationReportRequest(month=month)
        # a page per call: each within the call's deadline however many tenants there are
        return "".join([page.csv async for page in _every_page(info, "ExportUtilisationReport", request)])

    @strawberry.field(
        permission_classes=[IsPlatformOperator],
        description="Live tenants by their latest smart-factory level, one entry per supplier with any, direct"
        " tenants first (operator).",
    )
    async def level_distribution(self, info: Info) -> list[SupplierLevels]:
        found = await _call(info, "GetLevelDistribution", pb.GetLevelDistributionRequest())
        return [SupplierLevels.from_pb(s) for s in found.suppliers]

    @strawberry.field(
        permission_classes=[IsSignedInPerson],
        description="Reports, newest first: every report for the operator, your own for anyone else.",
        deprecation_reason="Use reportsConnection: a cursor connection.",
    )
    async def reports(
        self, info: Info, statuses: list[ReportStatus] | None = None, limit: int = 50
    ) -> list[Report]:
        request = pb.ListReportsRequest(
            statuses=[s.value for s in statuses or []], limit=min(max(limit, 1), 200)
        )
        return [Report.from_pb(r) for r in (await _call(info, "ListReports", request)).reports]

    @strawberry.field(
        permission_classes=[IsSignedInPerson],
        description="Reports, newest first, a page at a time: every report for the operator, your own for"
        " anyone else.",
    )
    async def reports_connection(
        self, info: Info, statuses: list[ReportStatus] | None = None, first: int = 50, after: After = None
    ) -> ReportConnection:
        request = pb.ListReportsRequest(
            statuses=[s.value for s in statuses or []], limit=checked_first(first), page_token=after or ""
        )
        found = await _call(info, "ListReports", request)
        return ReportConnection(
            nodes=[Report.from_pb(r) for r in found.reports], page_info=page_info_from(found.next_page_token)
        )


@strawberry.type
class ProgrammeMutation:
    @strawberry.mutation(
        permission_classes=[IsPlatformOperator],
        description="Mark a tenant subsidised by the programme, or not.",
    )
    async def set_subsidised(
        self, info: Info, tenant_id: strawberry.ID, subsidised: bool
    ) -> SubsidisedPayload:
        request = pb.SetSubsidisedRequest(tenant_id=str(tenant_id), subsidised=subsidised)
        done, problems = await attempt(_call(info, "SetSubsidised", request))
        return SubsidisedPayload(subsidised=subsidised if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsPlatformOperator],
        description="Mark a raised utilisation flag reviewed, with a note (1 to 2,000 characters); audited.",
    )
    async def review_utilisation_flag(
        self, info: Info, tenant_id: strawberry.ID, month: str, rule: str, note: str
    ) -> FlagReviewPayload:
        request = pb.ReviewUtilisationFlagRequest(tenant_id=str(tenant_id), month=month, rule=rule, note=note)
        done, problems = await attempt(_call(info, "ReviewUtilisationFlag", request))
        return FlagReviewPayload(flag=UtilisationFlag.from_pb(done.flag) if done else None, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsSignedInPerson],
        description="Report suspected misuse or a problem with a supplier to the programme, confidentially.",
    )
    async def file_report(self, info: Info, input: FileReportInput) -> ReportPayload:
        request = pb.FileReportRequest(
            category=input.category.value,
            supplier_id=input.supplier_id or "",
            subject=input.subject,
            body=input.body,
        )
        return await _report(info, "FileReport", request)

    @strawberry.mutation(
        permission_classes=[IsPlatformOperator],
        description="Move a report on (operator); closing needs the outcome as the note.",
    )
    async def move_report(
        self, info: Info, id: strawberry.ID, status: ReportStatus, note: str = ""
    ) -> ReportPayload:
        return await _report(
            info, "MoveReport", pb.MoveReportRequest(report_id=str(id), status=status.value, note=note)
        )
