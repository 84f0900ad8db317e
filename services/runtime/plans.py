"""What a tenant's plan gives, looked up by tenant, and the raw window every read of raw points is held to.

A tenant's plan code comes from tenancy (``GetTenant``, as the asking service scoped to that tenant) and is
remembered for a minute, so a plan change reaches a service within that time; what a plan gives comes from
the catalog (`tenants/plans.yaml`). The gateway looks its API limits up this way (`gateway/plans.py`), and
analytics its raw window (`services/analytics/server.py`). Callers outside any tenant get the default.

The raw window (`raw_window_days`) is the widest range, ``to - from``, that one read of raw points may
span. The gateway refuses a wider one before the operation runs (`gateway/graphql/cost.py`); analytics
refuses it again for any gRPC caller (`services/analytics/windows.py`). A range has no open end: GraphQL
requires both bounds, and a bound missing from a gRPC ``TimeRange`` is 0, the epoch, so a missing start
reaches back to 1970 (refused as too wide) and a missing end makes the range empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from services.runtime.cache import TtlCache
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

PLAN_CACHE_S = 60
DEFAULT_RAW_WINDOW_DAYS = 7  # the smallest plan's: for a plan without one and callers outside any tenant
DAY_NS = 86_400 * 10**9
RAW_WINDOW_REASON = "TIME_RANGE_TOO_WIDE"

T = TypeVar("T")
Call = Callable[[Callable[..., Awaitable[Any]], object, Any], Awaitable[Any]]  # CallerIdentity.call's shape


async def plan_code(
    call: Call, tenancy: tenancy_pb2_grpc.TenancyServiceStub, service: str, tenant: uuid.UUID
) -> str:
    """The tenant's plan, as tenancy answers the service ``service`` acting for that tenant."""
    request = tenancy_pb2.GetTenantRequest(tenant_id=str(tenant))
    return (await call(tenancy.GetTenant, request, service_principal(service, tenant))).tenant.plan_code


class TenantPlans(Generic[T]):
    """What each tenant's plan gives (``by_plan``: plan code → what it gives), remembered per tenant."""

    def __init__(
        self, code_of: Callable[[uuid.UUID], Awaitable[str]], by_plan: Mapping[str, T], default: T
    ) -> None:
        self._code_of = code_of
        self._by_plan = by_plan
        self._default = default
        self._tenants = TtlCache(PLAN_CACHE_S, max_entries=50_000)

    async def of(self, tenant_id: uuid.UUID | None) -> T:
        if tenant_id is None:
            return self._default
        given = self._tenants.get(tenant_id)
        if given is None:
            given = self._by_plan.get(await self._code_of(tenant_id), self._default)
            self._tenants.put(tenant_id, given)
        return given


def too_wide(span_ns: int, window_days: int) -> str | None:
    """Why a raw read over ``span_ns`` is refused (the same words from the gateway and analytics), or None
    when the plan's window holds it."""
    if span_ns <= window_days * DAY_NS:
        return None
    return (
        f"a read of raw points may span at most {window_days} days on your plan, and this range is longer:"
        " ask for a narrower range (a longer one a window at a time) or for an aggregate or chart of it"
        " (see docs/API.md, Limits)"
    )
