"""gRPC ⇄ domain translation for ProgrammeService; the rules live in `utilisation` and `report_centre`."""

from __future__ import annotations

from services.runtime.principal import current_principal
from services.tenancy.handlers import ns
from services.tenancy.programme_models import CATEGORIES, REPORT_STATUSES, Flag, Report, Utilisation
from services.tenancy.report_centre import ReportCentre
from services.tenancy.utilisation import UtilisationReport
from sfcloud.v1 import programme_pb2 as pb
from sfcloud.v1 import programme_pb2_grpc

CATEGORY_PB = {name: i + 1 for i, name in enumerate(CATEGORIES)}
STATUS_PB = {name: i + 1 for i, name in enumerate(REPORT_STATUSES)}


def _name(numbers: dict[str, int], number: int) -> str:
    """The name of an enum number; an unknown or unspecified one as '' (refused by the domain)."""
    return next((name for name, n in numbers.items() if n == number), "")


def flag_pb(f: Flag) -> pb.UtilisationFlag:
    review = f.review
    return pb.UtilisationFlag(
        rule=f.rule.code,
        description=f.rule.description,
        metric=f.rule.metric,
        value=f.value,
        threshold=f.rule.below,
        evidence=f.evidence,
        reviewed_ns=ns(review.reviewed_at) if review else 0,
        reviewed_by=review.reviewed_by if review else "",
        review_note=review.note if review else "",
    )


def utilisation_pb(m: Utilisation) -> pb.TenantUtilisation:
    t = m.tenant
    return pb.TenantUtilisation(
        tenant_id=str(t.id),
        tenant_name=t.name,
        supplier_id=str(t.supplier_id or ""),
        plan=t.plan,
        state=t.state,
        subsidised=t.subsidised,
        month=m.period.month,
        days_counted=m.period.days,
        days_with_data=m.days_with_data,
        registered_devices=m.registered_devices,
        reporting_devices=m.reporting_devices,
        points=m.points,
        bytes=m.bytes,
        logins=m.logins,
        login_users=m.login_users,
        features=[pb.FeatureUse(feature=name, count=count) for name, count in m.features.items()],
        levels=[pb.DayLevel(day=day.isoformat(), level=level) for day, level in m.levels],
        flags=[flag_pb(f) for f in m.flags],
        telemetry_unavailable=m.telemetry_unavailable,
    )


def report_pb(r: Report) -> pb.Report:
    return pb.Report(
        id=str(r.id),
        category=CATEGORY_PB[r.category],
        supplier_id=str(r.supplier_id or ""),
        supplier_name=r.supplier_name,
        subject=r.subject,
        body=r.body,
        status=STATUS_PB[r.status],
        outcome=r.outcome,
        created_ns=ns(r.created_at),
        updated_ns=ns(r.updated_at),
        reporter=r.reporter,
        reporter_organisation=r.reporter_organisation,
        history=[
            pb.ReportEvent(
                at_ns=ns(e.at),
                from_status=STATUS_PB[e.from_status],
                to_status=STATUS_PB[e.to_status],
                note=e.note,
            )
            for e in r.history
        ],
    )


class ProgrammeHandlers(programme_pb2_grpc.ProgrammeServiceServicer):
    def __init__(self, utilisation: UtilisationReport, reports: ReportCentre) -> None:
        self._utilisation = utilisation
        self._reports = reports

    async def SetSubsidised(self, request, context) -> pb.SetSubsidisedResponse:
        await self._utilisation.set_subsidised(current_principal(), request.tenant_id, request.subsidised)
        return pb.SetSubsidisedResponse()

    async def GetUtilisationReport(self, request, context) -> pb.GetUtilisationReportResponse:
        months, token = await self._utilisation.report(
            current_principal(),
            request.month,
            request.tenant_id,
            request.flagged_only,
            request.page_size,
            request.page_token,
        )
        return pb.GetUtilisationReportResponse(
            tenants=[utilisation_pb(m) for m in months], next_page_token=token
        )

    async def ExportUtilisationReport(self, request, context) -> pb.ExportUtilisationReportResponse:
        text, token = await self._utilisation.csv(
            current_principal(), request.month, request.page_size, request.page_token
        )
        return pb.ExportUtilisationReportResponse(csv=text, next_page_token=token)

    async def ReviewUtilisationFlag(self, request, context) -> pb.ReviewUtilisationFlagResponse:
        flag = await self._utilisation.review(
            current_principal(), request.tenant_id, request.month, request.rule, request.note
        )
        return pb.ReviewUtilisationFlagResponse(flag=flag_pb(flag))

    async def GetLevelDistribution(self, request, context) -> pb.GetLevelDistributionResponse:
        found = await self._utilisation.level_distribution(current_principal())
        return pb.GetLevelDistributionResponse(
            suppliers=[
                pb.SupplierLevels(
                    supplier_id=str(s.supplier_id or ""), tenants_at_level=s.at_level, unassessed=s.unassessed
                )
                for s in found
            ]
        )

    async def FileReport(self, request, context) -> pb.FileReportResponse:
        report = await self._reports.file(
            current_principal(),
            _name(CATEGORY_PB, request.category),
            request.supplier_id,
            request.subject,
            request.body,
        )
        return pb.FileReportResponse(report=report_pb(report))

    async def ListReports(self, request, context) -> pb.ListReportsResponse:
        statuses = [_name(STATUS_PB, s) for s in request.statuses]
        found, token = await self._reports.list(
            current_principal(), statuses, request.limit, request.page_token
        )
        return pb.ListReportsResponse(reports=[report_pb(r) for r in found], next_page_token=token)

    async def MoveReport(self, request, context) -> pb.MoveReportResponse:
        report = await self._reports.move(
            current_principal(), request.report_id, _name(STATUS_PB, request.status), request.note
        )
        return pb.MoveReportResponse(report=report_pb(report))
