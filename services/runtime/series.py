"""Which series ids are a tenant's, asked of the tenancy service and remembered for a while.

Ingest (before it stores a batch) and analytics (before it reads) never read tenancy's tables: they call
``ListSeries`` as their own service identity scoped to the caller's tenant, so tenancy answers only with
that tenant's series and another tenant's id is as unknown as one that never existed. Positive answers
are cached for ``ttl_s``; unknown ids are asked again each time, so a series just created is usable at
once (a deleted one stays known until its entry expires).
"""

from __future__ import annotations

import uuid

from services.runtime.cache import TtlCache
from services.runtime.channels import CallerIdentity
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc


class SeriesDirectory:
    def __init__(
        self,
        stub: tenancy_pb2_grpc.TenancyServiceStub,
        identity: CallerIdentity,
        service: str,
        ttl_s: float = 30,
    ) -> None:
        self._stub = stub
        self._identity = identity
        self._service = service
        self._known = TtlCache(ttl_s)

    async def unknown(self, tenant_id: uuid.UUID, series_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """The ids among ``series_ids`` that are not series of ``tenant_id``, in the order given."""
        missing = [s for s in dict.fromkeys(series_ids) if not self._known.get((tenant_id, s))]
        if not missing:
            return []
        response = await self._identity.call(
            self._stub.ListSeries,
            tenancy_pb2.ListSeriesRequest(series_ids=[str(s) for s in missing]),
            service_principal(self._service, tenant_id),
        )
        found = {uuid.UUID(s.id) for s in response.series}
        for series_id in found:
            self._known.put((tenant_id, series_id), True)
        return [s for s in missing if s not in found]
