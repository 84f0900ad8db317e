"""`GET /reports/plant`: a site's plant report as a file, for the caller's own tenant.

Query parameters: `site` (id), `period` (`day` or `month`), `date` (YYYY-MM-DD, local to the site),
`lang` (`en` or `ko`; default: the browser's Accept-Language, else `en`), `format` (`pdf` or `csv`).
The caller is a browser session or an API key (Bearer), as for GraphQL; analytics (ReportService) checks
the rest. Another tenant's site, or none, is 404 alike; bad parameters are 400 with what is wrong.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.auth import GatewayAuth
from gateway.backends import Backends
from services.runtime import errors
from sfcloud.v1 import reports_pb2 as pb

_PERIODS = {"day": pb.REPORT_PERIOD_DAY, "month": pb.REPORT_PERIOD_MONTH}
_FORMATS = {"pdf": pb.REPORT_FORMAT_PDF, "csv": pb.REPORT_FORMAT_CSV}
_STATUS = {
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.InvalidArgument: 400,
    errors.Unavailable: 503,
}


class PlantReports:
    def __init__(self, backends: Backends, auth: GatewayAuth) -> None:
        self._backends = backends
        self._auth = auth

    def routes(self) -> list[Route]:
        return [Route("/reports/plant", self.plant, methods=["GET"])]

    async def plant(self, request: Request) -> Response:
        q = request.query_params
        try:
            principal = (await self._auth.caller(request)).principal
            if principal is None:
                raise errors.Unauthenticated("sign in or send an API key first")
            report = await self._backends.call(
                self._backends.reports.PlantReport,
                pb.PlantReportRequest(
                    site_id=q.get("site", ""),
                    period=_PERIODS.get(q.get("period", "day"), pb.REPORT_PERIOD_UNSPECIFIED),
                    date=q.get("date", ""),
                    language=q.get("lang") or _language(request.headers.get("accept-language", "")),
                    format=_FORMATS.get(q.get("format", "pdf"), pb.REPORT_FORMAT_UNSPECIFIED),
                ),
                principal,
            )
        except errors.ServiceError as exc:
            status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
            return PlainTextResponse(f"{status}: {exc.message}", status_code=status)
        return Response(
            report.content,
            media_type=report.content_type,
            headers={
                "content-disposition": f'attachment; filename="{report.file_name}"',
                "cache-control": "no-store",
            },
        )


def _language(accept: str) -> str:
    """Korean when the browser ranks it before English, else English."""
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("ko"):
            return "ko"
        if tag.startswith("en"):
            return "en"
    return "en"
