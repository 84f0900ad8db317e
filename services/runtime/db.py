"""PostgreSQL access for a service: one pool, and transactions that carry the tenant.

Every transaction starts with ``set_config('app.tenant_id', $1, true)`` (and
any other `app.*` setting the row-level-security policies read), transaction
local, bound as parameters, so a pooled connection never carries one tenant's
context into another's transaction. Connection failures become
:class:`Unavailable` here, once, a statement PostgreSQL cancelled (its ``statement_timeout``)
:class:`ResourceExhausted`, and a write refused for want of disk space :class:`DatabaseFull`.
"""

from __future__ import annotations

import asyncio
import select
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from services.runtime.errors import DatabaseFull, ResourceExhausted, Unavailable

TENANT_SETTING = "app.tenant_id"
DISK_FULL_RETRY_S = 10.0  # space comes back by an operator's hand: minutes, not milliseconds
DEFAULT_POOL_SIZE = 8  # connections a service process holds at most (per cell)


async def still_connected(conn: psycopg.AsyncConnection) -> None:
    """The pool's check before it lends a connection, without a round trip: an idle connection has
    nothing to read unless its server closed it or the link was reset (a restarted server, a middlebox),
    and reading that raises, so the pool drops it for another instead of failing the caller's transaction."""
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        conn.pgconn.consume_input()  # raises OperationalError on EOF or a reset
    if conn.broken or conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the connection was closed while idle")


class Database:
    """A connection pool for one service's application role."""

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = DEFAULT_POOL_SIZE, name: str = "sf"
    ) -> None:
        self.pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            name=name,
            timeout=5.0,
            check=still_connected,
            kwargs={"application_name": name},
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=15.0)

    async def close(self) -> None:
        await self.pool.close()

    async def check(self) -> None:
        """Readiness: raises when the database cannot answer."""
        async with self.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")

    async def _lend(self) -> psycopg.AsyncConnection:
        """A connection from the pool. The pool keeps the error of a waiter that gave up (a call cancelled at
        its deadline) in its queue until a connection comes back, and that error's traceback held every frame
        the cancellation passed through, the caller's batch with them, for as long as the database was dark
        (RELIABILITY D7: 300 callers holding 100 KB each kept 31 MB). So that error loses its frames here."""
        try:
            return await self.pool.getconn()
        except asyncio.CancelledError as cancelled:
            cancelled.__traceback__ = None
            raise asyncio.CancelledError(*cancelled.args) from None

    def tenant(
        self, tenant_id: uuid.UUID, *, snapshot: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction scoped to one tenant by row-level security (see ``transaction`` for ``snapshot``)."""
        return self.transaction({TENANT_SETTING: str(tenant_id)}, snapshot=snapshot)

    @asynccontextmanager
    async def transaction(
        self, settings: Mapping[str, str], *, snapshot: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction whose first statement sets the given `app.*` settings locally.

        With ``snapshot`` it is REPEATABLE READ: all its statements see the database as of its first one
        (several reads that must agree with each other); the connection goes back to the pool as it came.
        """
        try:
            conn = await self._lend()
            try:
                if snapshot:
                    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
                try:
                    async with conn.transaction():
                        if settings:
                            calls = ", ".join("set_config(%s, %s, true)" for _ in settings)
                            params = [part for item in settings.items() for part in item]
                            await conn.execute(f"SELECT {calls}", params)
                        yield conn
                finally:
                    if snapshot and not conn.closed:
                        await conn.set_isolation_level(None)
            finally:
                await self.pool.putconn(conn)  # rolls back what is left open, replaces a broken connection
        except psycopg.errors.QueryCanceled as exc:
            raise ResourceExhausted(
                "the query ran longer than its time limit and was cancelled; ask for less (a shorter range, fewer series)",
                reason="QUERY_TIMEOUT",
            ) from exc
        except psycopg.errors.DiskFull as exc:  # an OperationalError, but the server is up: say what is wrong
            raise DatabaseFull(
                "the database is out of disk space; nothing of this request was stored, retry later",
                retry_after_s=DISK_FULL_RETRY_S,
            ) from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise Unavailable("database unavailable, try again", reason="DATABASE_UNAVAILABLE") from exc
