"""Open live sockets end when their caller's right to them ends (RELIABILITY G3).

A request is authenticated once; a websocket lives for hours. So every ``CHECK_S`` one sweep per
gateway process checks again what each open socket's caller came with:

- a session cookie: the session still exists and is within its lifetimes (one `MGET` for all sockets;
  reading does not extend it). This ends sockets of a revoked session, a signed-out one and an expired
  one, whichever gateway did it;
- an API key: still valid, asked of the tenancy service afresh once per distinct key (not through the
  five-second key cache, and not audited as a use);
- the caller's tenant: still in a state that takes in data (trial, active, past due). Live values come
  from ingest, which a suspended or cancelled tenant no longer has, so its sockets end and new ones are
  refused until it is resumed.

A revoked or expired credential closes the socket with 4401 (graphql-transport-ws's "Unauthorized";
clients do not retry it), a tenant that is not live with 4403 (retried with backoff). A socket is ended
within ``CHECK_S`` plus the sweep's own time after the revocation.

Why a sweep and not revocation events: credentials are revoked in two places (sessions in the gateways,
keys and tenant states in the tenancy service) and sockets live in many gateways; events over Redis
pub/sub are at-most-once, so a lost one would leave a socket open and a periodic check would be needed
anyway as the backstop. The sweep alone is correct whatever was lost, and grouping by credential keeps
its cost to one Redis round trip plus one call per distinct key and tenant per sweep, however many
sockets share them. If Redis or the tenancy service cannot answer, open sockets are kept (logged) and
the next sweep asks again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from gateway.auth import Caller, GatewayAuth
from gateway.backends import Backends
from gateway.sessions import SessionStore
from services.runtime.errors import NotFound, ServiceError
from services.runtime.principal import Kind
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2 as pb

log = logging.getLogger(__name__)
CHECK_S = 2.0
UNAUTHORIZED = 4401
FORBIDDEN = 4403
LIVE_STATES = frozenset(
    {pb.SUBSCRIPTION_STATE_TRIAL, pb.SUBSCRIPTION_STATE_ACTIVE, pb.SUBSCRIPTION_STATE_PAST_DUE}
)


@dataclass(frozen=True)
class Ending:
    """Why a socket ends: its close code and reason."""

    code: int
    reason: str


SESSION_ENDED = Ending(UNAUTHORIZED, "your session has ended; sign in again")
KEY_REVOKED = Ending(UNAUTHORIZED, "this API key was revoked or has expired")
TENANT_NOT_LIVE = Ending(FORBIDDEN, "this tenant is suspended or cancelled: no live data")


@dataclass(eq=False)
class Watched:
    caller: Caller
    end: Callable[[Ending], Awaitable[None]]


class LiveWatch:
    def __init__(self, backends: Backends, sessions: SessionStore, auth: GatewayAuth) -> None:
        self._backends = backends
        self._sessions = sessions
        self._auth = auth
        self._watched: set[Watched] = set()
        self._sweeping: asyncio.Task | None = None

    async def refusal(self, caller: Caller) -> Ending | None:
        """Why a socket may not start (checked at `connection_init`), if it may not."""
        (ending,) = await self._endings([caller])
        return ending

    def watch(self, caller: Caller, end: Callable[[Ending], Awaitable[None]]) -> Watched:
        """Check ``caller`` every sweep until forgotten; ``end`` closes the socket."""
        watched = Watched(caller, end)
        self._watched.add(watched)
        if self._sweeping is None or self._sweeping.done():
            self._sweeping = asyncio.create_task(self._sweep_forever())
        return watched

    def forget(self, watched: Watched) -> None:
        self._watched.discard(watched)

    def close(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()

    async def _sweep_forever(self) -> None:
        while self._watched:
            await asyncio.sleep(CHECK_S)
            try:
                await self.sweep()
            except (RedisError, ServiceError) as exc:
                log.warning("live sockets not re-checked this time", extra={"error": repr(exc)})

    async def sweep(self) -> None:
        watched = list(self._watched)
        endings = await self._endings([w.caller for w in watched])
        ended = [(w, e) for w, e in zip(watched, endings, strict=True) if e is not None]
        for w, _ in ended:
            self.forget(w)
        closing = await asyncio.gather(*(w.end(e) for w, e in ended), return_exceptions=True)
        for failed in (c for c in closing if isinstance(c, Exception)):  # a socket already gone, say
            log.warning("live socket not closed cleanly", extra={"error": repr(failed)})

    async def _endings(self, callers: Sequence[Caller]) -> list[Ending | None]:
        live_cookies = await self._sessions.live({c.credential for c in callers if c.by_cookie})
        keys = sorted({c.credential for c in callers if _by_key(c)})
        valid = dict(zip(keys, await asyncio.gather(*map(self._auth.key_still_valid, keys)), strict=True))
        tenants = sorted({c.principal.tenant_id for c in callers if c.principal and c.principal.tenant_id})
        live = dict(zip(tenants, await asyncio.gather(*map(self._tenant_live, tenants)), strict=True))

        def ending(caller: Caller) -> Ending | None:
            if caller.by_cookie and caller.credential not in live_cookies:
                return SESSION_ENDED
            if _by_key(caller) and not valid[caller.credential]:
                return KEY_REVOKED
            if caller.principal and caller.principal.tenant_id and not live[caller.principal.tenant_id]:
                return TENANT_NOT_LIVE
            return None

        return [ending(c) for c in callers]

    async def _tenant_live(self, tenant_id: uuid.UUID) -> bool:
        request = pb.GetTenantRequest(tenant_id=str(tenant_id))
        try:
            response = await self._backends.call(
                self._backends.tenancy.GetTenant, request, service_principal("gateway", tenant_id)
            )
        except NotFound:  # purged
            return False
        return response.tenant.state in LIVE_STATES


def _by_key(caller: Caller) -> bool:
    return not caller.by_cookie and caller.principal is not None and caller.principal.kind is Kind.API_KEY
