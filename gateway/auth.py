"""Who is calling the gateway: a browser session (cookie) or a developer's API key (Bearer).

Either way the result is a `Principal` the gateway signs into internal tokens.
API keys are resolved by the tenancy service (which audits each use) and
remembered for a few seconds, so a revoked key stops working within that time.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace

from starlette.requests import HTTPConnection

from gateway.backends import Backends
from gateway.sessions import Session, SessionStore
from services.runtime.cache import TtlCache
from services.runtime.errors import Unauthenticated
from services.runtime.principal import Kind, Principal
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2

KEY_CACHE_S = 5


@dataclass(frozen=True)
class Caller:
    principal: Principal | None
    session: Session | None = None
    # The session cookie or API key the caller came with, so an open live socket can check it again.
    credential: str = field(default="", repr=False)

    @property
    def by_cookie(self) -> bool:
        return self.session is not None


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


class GatewayAuth:
    def __init__(self, backends: Backends, sessions: SessionStore, cookie_name: str) -> None:
        self._backends = backends
        self._sessions = sessions
        self._cookie = cookie_name
        self._keys = TtlCache(KEY_CACHE_S, max_entries=50_000)

    async def caller(self, connection: HTTPConnection) -> Caller:
        """The caller of a request; raises Unauthenticated for a bad or revoked API key."""
        origin = client_address(connection)
        authorization = connection.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
            return Caller(await self._api_key(key, origin), credential=key)
        cookie = connection.cookies.get(self._cookie)
        session = await self._sessions.get(cookie)
        if session is None:
            return Caller(None)
        return Caller(replace(session.principal, origin=origin), session, cookie)

    async def key_still_valid(self, key: str) -> bool:
        """Whether an API key in use on an open live socket still works, asked afresh (no cache) and
        not recorded as a use; raises ServiceError when the tenancy service cannot say."""
        request = tenancy_pb2.AuthenticateApiKeyRequest(key=key, recheck=True)
        try:
            await self._backends.call(
                self._backends.tenancy.AuthenticateApiKey, request, service_principal("gateway")
            )
        except Unauthenticated:
            return False
        return True

    async def _api_key(self, key: str, origin: str) -> Principal:
        cache_key = hashlib.sha256(key.encode()).digest()
        principal = self._keys.get(cache_key)
        if principal is None:
            gateway = replace(service_principal("gateway"), origin=origin)
            request = tenancy_pb2.AuthenticateApiKeyRequest(key=key)
            response = await self._backends.call(self._backends.tenancy.AuthenticateApiKey, request, gateway)
            principal = Principal(
                Kind.API_KEY,
                response.key_id,
                tenant_id=_uuid(response.tenant_id),
                scopes=frozenset(response.scopes),
                origin=origin,
                cell=response.cell or "default",
            )
            self._keys.put(cache_key, principal)
        return principal


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unauthenticated("API key resolved to no tenant") from None
