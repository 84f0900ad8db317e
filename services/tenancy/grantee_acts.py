"""What a grantee does under a grant — a shared read (services/tenancy/sharing.py) or a step of an export
(services/tenancy/grant_exports.py) — is decided the same way, here, so the two cannot drift apart:

1. the grant is found through the grantee named by the service's token, under the grantee's row-level
   security: another organisation's grant is as unknown as one that never existed;
2. it is loaded again under its grantor (it may have been purged in between) and the act decided;
3. the decision, allowed or refused with why, goes to the grantor's audit log before anything is answered.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from psycopg import AsyncConnection

from services.runtime.errors import InvalidArgument, NotFound, PermissionDenied, ServiceError
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.tenancy.sharing_models import Grant
from services.tenancy.storage import audit as audit_storage
from services.tenancy.storage import sharing as storage

READERS = ("user", "api_key")
MAX_READER = 200


@dataclass(frozen=True)
class GranteeAct:
    caller: Principal  # the service acting for the grantee
    grantee: tuple[uuid.UUID, dict[str, str]]  # ``grantee_of_token(caller)``
    grant_id: uuid.UUID
    actor: tuple[str, str]  # ``reader_actor``: who of the grantee acts
    action: str  # the audit's: share.read, share.export


T = TypeVar("T")
# Given the grant (under its grantor) and the grantor: (the answer, None), or (None, why not).
Decide = Callable[[AsyncConnection, Grant, uuid.UUID], Awaitable[tuple[T | None, ServiceError | None]]]
# The audit's detail of a decision: the grant (None once purged), the answer, the refusal.
Detail = Callable[[Grant | None, T | None, ServiceError | None], dict]


def grantee_of_token(caller: Principal) -> tuple[uuid.UUID, dict[str, str]]:
    """The grantee the calling service verified, from its token: a tenant or a supplier."""
    if caller.tenant_id is not None:
        return caller.tenant_id, {"app.tenant_id": str(caller.tenant_id)}
    if caller.supplier_id is not None:
        return caller.supplier_id, {"app.supplier_id": str(caller.supplier_id)}
    raise PermissionDenied("a shared read needs a token scoped to the grantee", reason="NO_GRANTEE")


def reader_actor(reader: str) -> tuple[str, str]:
    """The audit's actor for the grantee's reader a service names."""
    kind, _, subject = reader.partition(":")
    if kind not in READERS or not 0 < len(subject) <= MAX_READER:
        raise InvalidArgument.of("reader", 'must be "user:<id>" or "api_key:<id>"')
    return kind, subject


async def decided(
    db: Transactions,
    act: GranteeAct,
    decide: Decide,
    detail: Detail,
    check_grantee: Callable[[AsyncConnection], Awaitable[None]] | None = None,
) -> T:
    """The answer ``decide`` gives, audited for the grantor; its refusal raised once audited.
    ``check_grantee`` runs first, under the grantee's row-level security (who of it may act)."""
    grantee, settings = act.grantee
    async with db.transaction(settings) as conn:
        if check_grantee is not None:
            await check_grantee(conn)
        grantor = await storage.grantor_of(conn, act.grant_id, grantee)
    if grantor is None:
        raise NotFound(f"grant {act.grant_id} not found", reason="GRANT_NOT_FOUND")
    async with db.tenant(grantor) as conn:
        grant = await storage.given(conn, act.grant_id)
        if grant is None:  # purged since the grantee's lookup
            answer, refusal = None, NotFound(f"grant {act.grant_id} not found", reason="GRANT_NOT_FOUND")
        else:
            answer, refusal = await decide(conn, grant, grantor)
        await audit_storage.append(
            conn,
            tenant_id=grantor,
            supplier_id=act.caller.supplier_id,
            actor=act.actor,
            action=act.action,
            target=str(act.grant_id),
            outcome="denied" if refusal else "ok",
            source=act.caller.origin,
            detail=detail(grant, answer, refusal),
        )
    if refusal is not None:
        raise refusal
    return answer
