"""What a caller's plan allows of the API: request rates, live connections and the size of one
GraphQL operation.

The limits are optional quotas of each plan in `tenants/plans.yaml` (read with the tenancy
catalog, as the worker reads retention); a plan that leaves one out gets the default below.
A tenant's plan comes from the tenancy service and is remembered for a minute
(`services/runtime/plans.py`), so a plan change reaches the gateway within that time. Callers
outside any tenant (the platform operator, suppliers' staff, anonymous requests) get the defaults.

| quota in plans.yaml | default | limits |
| --- | --- | --- |
| `api_requests_per_minute` | 600 | requests of one API key (a token bucket holding a minute's worth) |
| `session_requests_per_minute` | 300 | requests of one person signed in to the web app, all their sessions together |
| `live_connections` | 20 | open subscription sockets of the whole tenant, across gateway processes |
| `live_subscriptions_per_connection` | 20 | subscriptions running at once on one socket |
| `live_subscribes_per_minute` | 60 | subscribe messages of one person or API key (a token bucket) |
| `graphql_max_depth` | 10 | nesting of fields, fragments followed |
| `graphql_max_aliases` | 15 | aliases in one document |
| `graphql_max_tokens` | 2,000 | lexical tokens in one document (checked while parsing) |
| `graphql_max_cost` | 50,000 | the operation's cost (`gateway/graphql/cost.py`): items of lists it asks for |
| `raw_window_days` | 7 | the range (`to - from`) one read of raw points spans (`gateway/graphql/cost.py`) |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from pathlib import Path

from gateway.backends import Backends
from services.runtime.plans import DEFAULT_RAW_WINDOW_DAYS, TenantPlans, plan_code
from services.runtime.principal import Principal
from services.tenancy.catalog import load_plans


@dataclass(frozen=True)
class ApiLimits:
    api_requests_per_minute: int = 600
    session_requests_per_minute: int = 300
    live_connections: int = 20
    live_subscriptions_per_connection: int = 20
    live_subscribes_per_minute: int = 60
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_cost: int = 50_000
    raw_window_days: int = DEFAULT_RAW_WINDOW_DAYS

    @classmethod
    def from_quotas(cls, quotas: dict[str, int]) -> ApiLimits:
        return cls(**{f.name: quotas[f.name] for f in fields(cls) if f.name in quotas})


DEFAULT_LIMITS = ApiLimits()


def load_limits(catalog_dir: Path) -> dict[str, ApiLimits]:
    """Every plan's API limits, by plan code."""
    return {code: ApiLimits.from_quotas(plan.quotas) for code, plan in load_plans(catalog_dir).items()}


class PlanLimits:
    """The limits of a caller's plan, looked up by tenant and remembered for a minute."""

    def __init__(self, backends: Backends, by_plan: dict[str, ApiLimits]) -> None:
        self._backends = backends
        self._plans = TenantPlans(self._plan_code, by_plan, DEFAULT_LIMITS)

    async def of(self, principal: Principal | None) -> ApiLimits:
        return await self._plans.of(principal.tenant_id if principal else None)

    async def _plan_code(self, tenant_id: uuid.UUID) -> str:
        """Asked when the first request needs it: the stubs exist once the server's loop runs (``Backends.open``)."""
        return await plan_code(self._backends.call, self._backends.tenancy, "gateway", tenant_id)
