"""gRPC ⇄ domain translation for SharingService; the rules live in `sharing`."""

from __future__ import annotations

from services.runtime.principal import current_principal
from services.tenancy.grant_exports import ExportStep, GrantExports
from services.tenancy.handlers import asset_pb, ns, series_pb
from services.tenancy.models import AuditEvent
from services.tenancy.sharing import GrantRequest, SharedRead, Sharing
from services.tenancy.sharing_models import SUPPLIER, TENANT, Grant
from sfcloud.v1 import common_pb2, sharing_pb2_grpc
from sfcloud.v1 import sharing_pb2 as pb

GRANULARITIES = {pb.GRANULARITY_RAW: "raw", pb.GRANULARITY_MINUTE: "1m", pb.GRANULARITY_HOUR: "1h"}
GRANULARITY_PB = {name: number for number, name in GRANULARITIES.items()}
GRANTEE_KINDS = {pb.GRANTEE_KIND_TENANT: TENANT, pb.GRANTEE_KIND_SUPPLIER: SUPPLIER}
GRANTEE_KIND_PB = {name: number for number, name in GRANTEE_KINDS.items()}
STAGES = {
    pb.GRANT_EXPORT_STAGE_REQUEST: "request",
    pb.GRANT_EXPORT_STAGE_WRITE: "write",
    pb.GRANT_EXPORT_STAGE_FINISH: "finish",
    pb.GRANT_EXPORT_STAGE_DOWNLOAD: "download",
}


def grant_pb(g: Grant) -> pb.DataGrant:
    kind, grantee = g.grantee
    return pb.DataGrant(
        id=str(g.id),
        grantor_tenant_id=str(g.tenant_id),
        grantor_name=g.grantor_name,
        grantee_kind=GRANTEE_KIND_PB[kind],
        grantee_id=str(grantee),
        grantee_name=g.grantee_name,
        grantee_is_partner=g.grantee_partner,
        series=[pb.SharedSeries(**label) for label in g.series_labels],
        range=common_pb2.TimeRange(start_ns=g.start_ns, end_ns=g.end_ns),
        granularity=GRANULARITY_PB[g.granularity],
        purpose=g.purpose,
        expires_ns=ns(g.expires_at),
        created_ns=ns(g.created_at),
        created_by=g.created_by,
        revoked_ns=ns(g.revoked_at),
        revoked_by=g.revoked_by or "",
    )


def access_pb(e: AuditEvent) -> pb.GrantAccess:
    detail = e.detail
    return pb.GrantAccess(
        at_ns=ns(e.at),
        action=e.action,
        actor=f"{e.actor_kind}:{e.actor_id}",
        outcome=e.outcome,
        reason=detail.get("reason", ""),
        series_id=detail.get("series", ""),
        range=common_pb2.TimeRange(start_ns=detail.get("from_ns", 0), end_ns=detail.get("to_ns", 0)),
        resolution_ns=detail.get("resolution_ns", 0),
        source=e.source,
        export_id=detail.get("export", ""),
        export_stage=detail.get("stage", ""),
    )


class SharingHandlers(sharing_pb2_grpc.SharingServiceServicer):
    def __init__(self, sharing: Sharing, exports: GrantExports) -> None:
        self._sharing = sharing
        self._exports = exports

    async def CreateGrant(self, request, context) -> pb.CreateGrantResponse:
        asked = GrantRequest(
            grantee_kind=GRANTEE_KINDS.get(request.grantee_kind, ""),
            grantee_id=request.grantee_id,
            series_ids=list(request.series_ids),
            asset_ids=list(request.asset_ids),
            start_ns=request.range.start_ns,
            end_ns=request.range.end_ns,
            granularity=GRANULARITIES.get(request.granularity, ""),
            purpose=request.purpose,
            expires_ns=request.expires_ns,
        )
        return pb.CreateGrantResponse(grant=grant_pb(await self._sharing.grant(current_principal(), asked)))

    async def RevokeGrant(self, request, context) -> pb.RevokeGrantResponse:
        revoked = await self._sharing.revoke(current_principal(), request.grant_id)
        return pb.RevokeGrantResponse(grant=grant_pb(revoked))

    async def ListGrants(self, request, context) -> pb.ListGrantsResponse:
        found, token = await self._sharing.given(
            current_principal(), request.include_ended, request.page_size, request.page_token
        )
        return pb.ListGrantsResponse(grants=[grant_pb(g) for g in found], next_page_token=token)

    async def ListSharedWithMe(self, request, context) -> pb.ListSharedWithMeResponse:
        found, token = await self._sharing.received(
            current_principal(), request.include_ended, request.page_size, request.page_token
        )
        return pb.ListSharedWithMeResponse(grants=[grant_pb(g) for g in found], next_page_token=token)

    async def ListGrantAccesses(self, request, context) -> pb.ListGrantAccessesResponse:
        events, token = await self._sharing.history(
            current_principal(), request.grant_id, request.limit, request.page_token
        )
        return pb.ListGrantAccessesResponse(accesses=[access_pb(e) for e in events], next_page_token=token)

    async def AuthorizeSharedRead(self, request, context) -> pb.AuthorizeSharedReadResponse:
        read = SharedRead(
            grant_id=request.grant_id,
            series_id=request.series_id,
            start_ns=request.range.start_ns,
            end_ns=request.range.end_ns,
            resolution_ns=request.resolution_ns,
            reader=request.reader,
        )
        owner, cell = await self._sharing.authorize_read(current_principal(), read)
        return pb.AuthorizeSharedReadResponse(owner_tenant_id=str(owner), cell=cell)

    async def AuthorizeGrantExport(self, request, context) -> pb.AuthorizeGrantExportResponse:
        step = ExportStep(
            grant_id=request.grant_id,
            export_id=request.export_id,
            reader=request.reader,
            stage=STAGES.get(request.stage, ""),
            rows=request.rows,
        )
        terms = await self._exports.authorize(current_principal(), step)
        return pb.AuthorizeGrantExportResponse(
            grant=grant_pb(terms.grant),
            owner_tenant_id=str(terms.grant.tenant_id),
            cell=terms.cell,
            assets=[asset_pb(a) for a in terms.assets],
            series=[series_pb(s) for s in terms.series],
        )

    async def SetAnalysisPartner(self, request, context) -> pb.SetAnalysisPartnerResponse:
        await self._sharing.set_partner(current_principal(), request.supplier_id, request.partner)
        return pb.SetAnalysisPartnerResponse()
