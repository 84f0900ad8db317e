"""gRPC ⇄ domain translation for ReportService."""

from __future__ import annotations

from services.analytics.reports.service import ReportService
from services.runtime.principal import current_principal
from sfcloud.v1 import reports_pb2 as pb
from sfcloud.v1 import reports_pb2_grpc

_PERIODS = {pb.REPORT_PERIOD_DAY: "day", pb.REPORT_PERIOD_MONTH: "month"}
_FORMATS = {pb.REPORT_FORMAT_PDF: "pdf", pb.REPORT_FORMAT_CSV: "csv"}


class ReportHandlers(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, service: ReportService) -> None:
        self._service = service

    async def PlantReport(self, request: pb.PlantReportRequest, context) -> pb.PlantReportResponse:
        found = await self._service.plant_report(
            current_principal(),
            request.site_id,
            _PERIODS.get(request.period, ""),
            request.date,
            request.language,
            _FORMATS.get(request.format, ""),
        )
        return pb.PlantReportResponse(
            content=found.content, content_type=found.content_type, file_name=found.file_name
        )
