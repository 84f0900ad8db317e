"""`GET /exports/{id}/package`: a finished export's package (.zip), for its own tenant only.

The caller is a browser session or an API key (Bearer), as for GraphQL; the worker (ExportService) decides
whether the caller may have it and reads it from the export directory, a MiB per `ReadExport` call, which
this route passes on as it arrives. Another tenant's export, or none, is 404 alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.auth import GatewayAuth
from gateway.backends import Backends
from services.runtime import errors
from services.runtime.principal import Principal
from sfcloud.v1 import export_pb2

_STATUS = {
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.InvalidArgument: 404,  # a malformed id names no export
    errors.FailedPrecondition: 409,
    errors.Unavailable: 503,
}


class ExportDownloads:
    def __init__(self, backends: Backends, auth: GatewayAuth) -> None:
        self._backends = backends
        self._auth = auth

    def routes(self) -> list[Route]:
        return [Route("/exports/{export_id}/package", self.package, methods=["GET"])]

    async def package(self, request: Request) -> Response:
        export_id = request.path_params["export_id"]
        try:
            principal = (await self._auth.caller(request)).principal
            if principal is None:
                raise errors.Unauthenticated("sign in or send an API key first")
            first = await self._read(principal, export_id, 0)
        except errors.ServiceError as exc:
            status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
            return PlainTextResponse(f"{status}: {exc.message}", status_code=status)
        return StreamingResponse(
            self._chunks(principal, export_id, first),
            media_type="application/zip",
            headers={
                "content-length": str(first.total_bytes),
                "content-disposition": f'attachment; filename="sfcloud-export-{export_id}.zip"',
                "x-content-sha256": first.sha256,
                "cache-control": "no-store",
            },
        )

    async def _read(self, principal: Principal, export_id: str, offset: int) -> export_pb2.ReadExportResponse:
        request = export_pb2.ReadExportRequest(export_id=export_id, offset=offset)
        return await self._backends.call(self._backends.exports.ReadExport, request, principal)

    async def _chunks(
        self, principal: Principal, export_id: str, first: export_pb2.ReadExportResponse
    ) -> AsyncIterator[bytes]:
        chunk, offset = first, 0
        while True:
            yield chunk.data
            offset += len(chunk.data)
            if not chunk.data or offset >= chunk.total_bytes:
                return
            chunk = await self._read(principal, export_id, offset)
