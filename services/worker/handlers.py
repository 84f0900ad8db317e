"""The worker's gRPC API, ExportService: translation between its messages and the export rules only."""

from __future__ import annotations

from datetime import datetime

from services.runtime.principal import current_principal
from services.worker.export_storage import ExportRow
from services.worker.exports import ExportsApi
from sfcloud.v1 import export_pb2 as pb
from sfcloud.v1 import export_pb2_grpc

_STATE_PB = {
    "queued": pb.EXPORT_STATE_QUEUED,
    "running": pb.EXPORT_STATE_RUNNING,
    "done": pb.EXPORT_STATE_DONE,
    "failed": pb.EXPORT_STATE_FAILED,
}


def _ns(moment: datetime | None) -> int:
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000 if moment else 0


def export_pb(row: ExportRow) -> pb.Export:
    return pb.Export(
        id=str(row.id),
        state=_STATE_PB[row.state],
        points_done=row.points_done,
        points_total=row.points_total,
        series_done=row.series_done,
        series_total=row.series_total,
        with_csv=row.with_csv,
        created_ns=_ns(row.created_at),
        started_ns=_ns(row.started_at),
        finished_ns=_ns(row.finished_at),
        bytes=row.bytes,
        sha256=row.sha256,
        error=row.error,
        grant_id=str(row.grant_id) if row.grant_id else "",
    )


class ExportHandlers(export_pb2_grpc.ExportServiceServicer):
    def __init__(self, exports: ExportsApi) -> None:
        self._exports = exports

    async def StartExport(self, request, context) -> pb.StartExportResponse:
        row = await self._exports.start(current_principal(), request.with_csv)
        return pb.StartExportResponse(export=export_pb(row))

    async def StartGrantExport(self, request, context) -> pb.StartGrantExportResponse:
        row = await self._exports.start_grant(current_principal(), request.grant_id, request.with_csv)
        return pb.StartGrantExportResponse(export=export_pb(row))

    async def GetExport(self, request, context) -> pb.GetExportResponse:
        return pb.GetExportResponse(
            export=export_pb(await self._exports.get(current_principal(), request.export_id))
        )

    async def ListExports(self, request, context) -> pb.ListExportsResponse:
        rows, token = await self._exports.list(current_principal(), request.page_size, request.page_token)
        return pb.ListExportsResponse(exports=[export_pb(r) for r in rows], next_page_token=token)

    async def ReadExport(self, request, context) -> pb.ReadExportResponse:
        chunk = await self._exports.read(current_principal(), request.export_id, request.offset)
        return pb.ReadExportResponse(data=chunk.data, total_bytes=chunk.total_bytes, sha256=chunk.sha256)
