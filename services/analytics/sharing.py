"""Reading another tenant's telemetry under a data-sharing grant (docs/SHARING.md, "The trust path").

The caller is the grantee: a tenant's reader (a member, or an API key with the read scope) or a supplier's
staff member, as its verified token says. Before every read this service asks tenancy, as the service
`analytics` with a token scoped to that grantee, whether the grant lets exactly this read through
(``AuthorizeSharedRead``: series, range and resolution, audited for the grantor). Only then does it read —
in a transaction scoped by row-level security to the tenant the grant names, on that tenant's cell. The
request never names the owner tenant, and nothing of a grant is cached here, so a revoked grant stops the
very next read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Protocol

from services.analytics.queries import Buckets
from services.analytics.service import Page, QueryService, bucket_grid, check_range, time_zone
from services.runtime.channels import CallerIdentity
from services.runtime.errors import InvalidArgument, PermissionDenied
from services.runtime.principal import Kind, Principal, Scope
from services.runtime.tokens import service_principal
from services.runtime.validation import parse_id
from sfcloud.v1 import common_pb2, sharing_pb2, sharing_pb2_grpc

SERVICE = "analytics"


@dataclass(frozen=True)
class Owner:
    """Whose telemetry a shared read touches, as the grant says."""

    tenant_id: uuid.UUID
    cell: str


class GrantAuthority(Protocol):
    async def authorize(
        self,
        caller: Principal,
        grant_id: str,
        series: uuid.UUID,
        start_ns: int,
        end_ns: int,
        resolution_ns: int,
    ) -> Owner:
        """The grant's owner if it lets this read through; NotFound or PermissionDenied saying why not."""


def grantee_token(caller: Principal) -> Principal:
    """This service's identity scoped to the organisation the caller reads for (never a device, nor a key
    without the read scope)."""
    if caller.kind is Kind.DEVICE:
        raise PermissionDenied("devices cannot query telemetry", reason="NOT_A_READER")
    if caller.kind is Kind.USER and caller.supplier_id is not None and caller.tenant_id is None:
        return replace(service_principal(SERVICE), supplier_id=caller.supplier_id, origin=caller.origin)
    tenant = caller.require_scope(Scope.READ)
    return replace(service_principal(SERVICE, tenant), origin=caller.origin)


class TenancyGrants:
    """Asks tenancy, on every read, whether a grant lets it through."""

    def __init__(self, stub: sharing_pb2_grpc.SharingServiceStub, identity: CallerIdentity) -> None:
        self._stub = stub
        self._identity = identity

    async def authorize(
        self,
        caller: Principal,
        grant_id: str,
        series: uuid.UUID,
        start_ns: int,
        end_ns: int,
        resolution_ns: int,
    ) -> Owner:
        request = sharing_pb2.AuthorizeSharedReadRequest(
            grant_id=grant_id,
            series_id=str(series),
            range=common_pb2.TimeRange(start_ns=start_ns, end_ns=end_ns),
            resolution_ns=resolution_ns,
            reader=f"{caller.kind.value}:{caller.subject}",
        )
        answer = await self._identity.call(self._stub.AuthorizeSharedRead, request, grantee_token(caller))
        return Owner(uuid.UUID(answer.owner_tenant_id), answer.cell)


class SharedQueries:
    def __init__(self, queries: QueryService, grants: GrantAuthority) -> None:
        self._queries = queries
        self._grants = grants

    async def read_points(
        self,
        caller: Principal,
        grant_id: str,
        series_id: str,
        start_ns: int,
        end_ns: int,
        limit: int,
        page_token: str = "",
    ) -> Page:
        """A page of raw points (raw grants only), as ``QueryService.read_points``."""
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        owner = await self._grants.authorize(caller, grant_id, series, start_ns, end_ns, 0)
        return await self._queries.authorized_page(
            owner.tenant_id, owner.cell, series, start_ns, end_ns, limit, page_token
        )

    async def aggregate(
        self, caller: Principal, grant_id: str, series_id: str, start_ns: int, end_ns: int, bucket_ns: int
    ) -> Buckets:
        """Statistics per fixed bucket since the epoch; tenancy refuses buckets finer than the grant."""
        series = parse_id("series_id", series_id)
        check_range(start_ns, end_ns)
        if bucket_ns <= 0:
            raise InvalidArgument.of("bucket_ns", "must be positive")
        grid = bucket_grid(start_ns, end_ns, bucket_ns, None, time_zone("UTC"))
        owner = await self._grants.authorize(caller, grant_id, series, start_ns, end_ns, bucket_ns)
        return await self._queries.authorized_buckets(owner.tenant_id, owner.cell, series, grid)
