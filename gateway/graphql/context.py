"""The typed per-request context: who asks, the service clients, and this request's DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from strawberry.dataloader import DataLoader

from gateway.auth import Caller
from gateway.backends import Backends
from gateway.graphql.errors import ApiError
from gateway.graphql.hub import ChannelHub
from gateway.plans import DEFAULT_LIMITS, ApiLimits
from gateway.sessions import Session, SessionStore
from services.runtime.principal import Principal
from sfcloud.v1 import query_pb2, tenancy_pb2


@dataclass
class Loaders:
    """Batching loaders, built per request so nothing is cached across users."""

    backends: Backends
    principal: Principal
    series_by_id: DataLoader = field(init=False)
    series_by_machine: DataLoader = field(init=False)
    latest: DataLoader = field(init=False)

    def __post_init__(self) -> None:
        self.series_by_id = DataLoader(self._series_by_id)
        self.series_by_machine = DataLoader(self._series_by_machine)
        self.latest = DataLoader(self._latest)

    async def _series_by_id(self, ids: list[str]) -> list[tenancy_pb2.Series | None]:
        request = tenancy_pb2.ListSeriesRequest(series_ids=ids)
        found = {
            s.id: s
            for s in (
                await self.backends.call(self.backends.tenancy.ListSeries, request, self.principal)
            ).series
        }
        return [found.get(i) for i in ids]

    async def _series_by_machine(self, machine_ids: list[str]) -> list[list[tenancy_pb2.Series]]:
        request = tenancy_pb2.ListSeriesRequest(machine_ids=machine_ids)
        response = await self.backends.call(self.backends.tenancy.ListSeries, request, self.principal)
        grouped: dict[str, list] = {m: [] for m in machine_ids}
        for series in response.series:
            grouped[series.machine_id].append(series)
        return [grouped[m] for m in machine_ids]

    async def _latest(self, series_ids: list[str]) -> list[query_pb2.LatestValue | None]:
        request = query_pb2.LatestValuesRequest(series_ids=series_ids)
        response = await self.backends.call(self.backends.query.LatestValues, request, self.principal)
        found = {v.series_id: v for v in response.values}
        return [found.get(s) for s in series_ids]

    async def require_series(self, series_id: str) -> tenancy_pb2.Series:
        """The series if it is one of the caller's; other tenants' series are simply not found."""
        try:
            uuid.UUID(series_id)
        except ValueError:
            raise ApiError(f"seriesId {series_id[:40]!r} is not a UUID", "BAD_USER_INPUT") from None
        series = await self.series_by_id.load(series_id)
        if series is None:
            raise ApiError(f"series {series_id} not found", "NOT_FOUND")
        return series


@dataclass
class Context:
    backends: Backends
    redis: aioredis.Redis
    hub: ChannelHub  # the process's one pub/sub connection, for subscriptions
    sessions: SessionStore
    caller: Caller
    limits: ApiLimits = DEFAULT_LIMITS  # of the caller's plan
    request: object = None
    response: object = None
    loaders: Loaders | None = None

    @property
    def session(self) -> Session | None:
        return self.caller.session

    @property
    def principal(self) -> Principal:
        if self.caller.principal is None:
            raise ApiError("sign in or send an API key first", "UNAUTHENTICATED")
        return self.caller.principal

    def tenant_loaders(self) -> Loaders:
        """The loaders of a caller who acts in a tenant (permission classes checked that already)."""
        if self.loaders is None:
            self.loaders = Loaders(self.backends, self.principal)
        return self.loaders
