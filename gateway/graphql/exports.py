"""Exports of the tenant's data (docs/DATA-MODEL.md): start one, follow its progress, download it from
`downloadUrl` (an authenticated GET, `gateway/downloads.py`). A grantee exports a grant given to it the same
way (`exportGrant`, docs/SHARING.md): the worker and tenancy decide what the grant lets through."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanExport, CanHoldExports, IsSignedIn
from gateway.graphql.scalars import Count, Timestamp
from gateway.graphql.telemetry import After
from sfcloud.v1 import export_pb2


@strawberry.enum(description="Where an export stands.")
class ExportState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


_STATES = {
    export_pb2.EXPORT_STATE_QUEUED: ExportState.QUEUED,
    export_pb2.EXPORT_STATE_RUNNING: ExportState.RUNNING,
    export_pb2.EXPORT_STATE_DONE: ExportState.DONE,
    export_pb2.EXPORT_STATE_FAILED: ExportState.FAILED,
}


@strawberry.type(
    description="A package of the tenant's asset tree, series and points, or of a grant given to it, made by"
    " the worker."
)
class Export:
    id: strawberry.ID
    state: ExportState
    points_done: Count = strawberry.field(description="Points written so far.")
    points_total: Count = strawberry.field(
        description="Points the tenant held when the export started (a grant's export: 0 until it is done)."
    )
    series_done: int
    series_total: int
    with_csv: bool = strawberry.field(description="CSV files beside the Parquet ones.")
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    bytes: Count = strawberry.field(description="The package's size, once done.")
    sha256: str | None = strawberry.field(description="The package's SHA-256 (hex), once done.")
    error: str | None = strawberry.field(description="Why it failed.")
    download_url: str | None = strawberry.field(
        description="Where to GET the package (.zip) with the same credentials, once done."
    )
    grant_id: strawberry.ID | None = strawberry.field(
        description="The grant exported (shared data); null for the tenant's own data."
    )

    @classmethod
    def from_pb(cls, e: export_pb2.Export) -> Export:
        done = e.state == export_pb2.EXPORT_STATE_DONE
        return cls(
            id=strawberry.ID(e.id),
            state=_STATES[e.state],
            points_done=e.points_done,
            points_total=e.points_total,
            series_done=e.series_done,
            series_total=e.series_total,
            with_csv=e.with_csv,
            created_at=e.created_ns,
            started_at=e.started_ns or None,
            finished_at=e.finished_ns or None,
            bytes=e.bytes,
            sha256=e.sha256 or None,
            error=e.error or None,
            download_url=f"/exports/{e.id}/package" if done else None,
            grant_id=strawberry.ID(e.grant_id) if e.grant_id else None,
        )


@strawberry.type(description="An export started, or why it was not.")
class ExportPayload:
    export: Export | None = strawberry.field(description="The export started; null on errors.")
    errors: list[UserError] = strawberry.field(
        description="Empty when started; e.g. GRANT_NOT_FOUND (no such grant to your tenant or supplier)."
    )


@strawberry.type(description="A page of the tenant's exports, newest first.")
class ExportConnection:
    nodes: list[Export]
    page_info: PageInfo


@strawberry.type
class ExportQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanHoldExports],
        description="One of your exports and its progress (a supplier's: its exports of grants given to it).",
    )
    async def export(self, info: Info, id: strawberry.ID) -> Export:
        ctx = info.context
        request = export_pb2.GetExportRequest(export_id=str(id))
        return Export.from_pb(
            (await ctx.backends.call(ctx.backends.exports.GetExport, request, ctx.principal)).export
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanHoldExports],
        description="The tenant's 50 newest exports.",
        deprecation_reason="Use exportsConnection: a cursor connection.",
    )
    async def exports(self, info: Info) -> list[Export]:
        ctx = info.context
        request = export_pb2.ListExportsRequest()
        response = await ctx.backends.call(ctx.backends.exports.ListExports, request, ctx.principal)
        return [Export.from_pb(e) for e in response.exports]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanHoldExports],
        description="Your exports, newest first, a page at a time (a tenant's own and of grants given to it; a"
        " supplier's of grants given to it).",
    )
    async def exports_connection(self, info: Info, first: int = 50, after: After = None) -> ExportConnection:
        ctx = info.context
        request = export_pb2.ListExportsRequest(page_size=checked_first(first), page_token=after or "")
        response = await ctx.backends.call(ctx.backends.exports.ListExports, request, ctx.principal)
        return ExportConnection(
            nodes=[Export.from_pb(e) for e in response.exports],
            page_info=page_info_from(response.next_page_token),
        )


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        permission_classes=[IsSignedIn, CanExport],
        description="Start an export of the whole tenant (any subscription state, cancelled included, until "
        "the tenant is purged); follow it with `export(id)`.",
        deprecation_reason="Use requestExport: returns typed user errors.",
    )
    async def start_export(self, info: Info, with_csv: bool = False) -> Export:
        return await _start_export(info, with_csv)

    @strawberry.mutation(
        permission_classes=[IsSignedIn, CanExport],
        description="Start an export of the whole tenant (any subscription state, cancelled included, until "
        "the tenant is purged); follow it with `export(id)`. A refusal the caller can act on comes back as a"
        " user error.",
    )
    async def request_export(self, info: Info, with_csv: bool = False) -> ExportPayload:
        export, problems = await attempt(_start_export(info, with_csv))
        return ExportPayload(export=export, errors=problems)

    @strawberry.mutation(
        permission_classes=[IsSignedIn, CanHoldExports],
        description="Start an export of a grant given to your tenant or supplier (a supplier's admins): only its"
        " series (and the assets that place"
        " them), over its time range, as raw points for a RAW grant or per-minute or per-hour aggregates"
        " otherwise. Every step is decided from the grant and shows in the grantor's access log; a revoked or"
        " expired grant is refused (FORBIDDEN), and fails an export still running. Follow it with `export(id)`.",
    )
    async def export_grant(
        self, info: Info, grant_id: strawberry.ID, with_csv: bool = False
    ) -> ExportPayload:
        ctx = info.context
        request = export_pb2.StartGrantExportRequest(grant_id=str(grant_id), with_csv=with_csv)
        done, problems = await attempt(
            ctx.backends.call(ctx.backends.exports.StartGrantExport, request, ctx.principal)
        )
        return ExportPayload(export=Export.from_pb(done.export) if done else None, errors=problems)


async def _start_export(info: Info, with_csv: bool) -> Export:
    ctx = info.context
    request = export_pb2.StartExportRequest(with_csv=with_csv)
    response = await ctx.backends.call(ctx.backends.exports.StartExport, request, ctx.principal)
    return Export.from_pb(response.export)
