"""Which devices and series exist, asked of the tenancy service and remembered for a while.

Ingest never reads tenancy's tables: it asks over gRPC with its own service
identity, scoped to the device's tenant, and caches positive answers briefly
(series through the shared ``SeriesDirectory``, services/runtime/series.py).
"""

from __future__ import annotations

import hashlib
import uuid

from services.ingest.errors import BadDeviceCredential, SubscriptionInactive
from services.runtime.cache import TtlCache
from services.runtime.channels import CallerIdentity
from services.runtime.errors import Unauthenticated
from services.runtime.principal import Kind, Principal
from services.runtime.series import SeriesDirectory
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2, tenancy_pb2_grpc

# Subscription states in which a tenant's devices may send (suspended and cancelled may not).
INGEST_STATES = (
    tenancy_pb2.SUBSCRIPTION_STATE_TRIAL,
    tenancy_pb2.SUBSCRIPTION_STATE_ACTIVE,
    tenancy_pb2.SUBSCRIPTION_STATE_PAST_DUE,
)


class TenancyCatalog:
    def __init__(
        self, stub: tenancy_pb2_grpc.TenancyServiceStub, identity: CallerIdentity, ttl_s: float = 30
    ) -> None:
        self._stub = stub
        self._identity = identity
        self._devices = TtlCache(min(ttl_s, 5))  # a revoked credential or suspended tenant stops within 5 s
        self._series = SeriesDirectory(stub, identity, "ingest", ttl_s)
        self._rates: dict[uuid.UUID, int] = {}  # tenant → points/s quota, as of its last authentication

    async def authenticate_device(self, credential: str) -> Principal:
        key = hashlib.sha256(credential.encode()).digest()
        cached = self._devices.get(key)
        if cached is None:
            response = await self._call(
                self._stub.AuthenticateDevice,
                tenancy_pb2.AuthenticateDeviceRequest(credential=credential),
                service_principal("ingest"),
            )
            cached = (
                Principal(
                    Kind.DEVICE,
                    response.device_id,
                    tenant_id=uuid.UUID(response.tenant_id),
                    cell=response.cell or "default",
                ),
                response.state,
            )
            self._devices.put(key, cached)
            self._rates[cached[0].tenant_id] = response.points_per_second
        principal, state = cached
        if state not in INGEST_STATES:
            name = tenancy_pb2.SubscriptionState.Name(state).removeprefix("SUBSCRIPTION_STATE_").lower()
            raise SubscriptionInactive(
                f"the tenant's subscription is {name}: ingest is refused, data stays readable"
            )
        return principal

    def points_per_second(self, tenant_id: uuid.UUID) -> int:
        """The tenant's quota as its devices' last authentication reported it (0: none known)."""
        return self._rates.get(tenant_id, 0)

    async def unknown_series(self, tenant_id: uuid.UUID, series_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """The ids among ``series_ids`` that are not series of ``tenant_id``."""
        return await self._series.unknown(tenant_id, series_ids)

    async def _call(self, method, request, principal: Principal):
        try:
            return await self._identity.call(method, request, principal)
        except Unauthenticated as error:
            raise BadDeviceCredential(error.message, reason=error.reason) from None


class DeviceAuthenticator:
    """Authenticates ingest calls by the device credential in metadata `authorization: Device <credential>`."""

    def __init__(self, catalog: TenancyCatalog) -> None:
        self._catalog = catalog

    async def authenticate(self, metadata) -> Principal:
        header = next((v for k, v in metadata if k == "authorization"), None)
        if not header or not str(header).startswith("Device "):
            raise BadDeviceCredential(
                "missing device credential (metadata authorization: Device <credential>)"
            )
        return await self._catalog.authenticate_device(str(header)[len("Device ") :].strip())
