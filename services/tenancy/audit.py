"""Recording and reading the audit log: who did what, when, from where, with what outcome.

Mutations are recorded in the same transaction as the change, so the log
never claims a change that did not happen, nor misses one that did.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from services.runtime.errors import InvalidArgument
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id
from services.tenancy.models import MANAGERS, AuditEvent
from services.tenancy.storage import audit as storage

MAX_PAGE = 500


def actor_of(principal: Principal) -> tuple[str, str]:
    return principal.kind.value, principal.subject


async def record(
    conn: Any,
    caller: Principal,
    action: str,
    *,
    tenant_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
    target: str = "",
    outcome: str = "ok",
    detail: dict | None = None,
) -> None:
    await storage.append(
        conn,
        tenant_id=tenant_id if tenant_id is not None else caller.tenant_id,
        supplier_id=supplier_id if supplier_id is not None else caller.supplier_id,
        actor=actor_of(caller),
        action=action,
        target=target,
        outcome=outcome,
        source=caller.origin or (caller.subject if caller.kind is Kind.SERVICE else ""),
        detail=detail or {},
    )


async def record_platform(conn: Any, caller: Principal, action: str, *, target: str, detail: dict) -> None:
    """A platform event: under no tenant and no supplier, so only the operator reads it (the report
    centre's confidential reports, whoever files them)."""
    await storage.append(
        conn,
        tenant_id=None,
        supplier_id=None,
        actor=actor_of(caller),
        action=action,
        target=target,
        outcome="ok",
        source=caller.origin,
        detail=detail,
    )


def page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def parse_page_token(token: str) -> int | None:
    if not token:
        return None
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise InvalidArgument.of("page_token", "is not a token this API gave out") from None


MAX_REQUESTER_CHARS = 200


class AuditLog:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def events(
        self, caller: Principal, page_size: int, page_token_in: str
    ) -> tuple[list[AuditEvent], str]:
        """A tenant's owners and admins read their tenant's log; suppliers their own view; the operator all."""
        settings = visibility(caller)
        limit = min(max(page_size or 100, 1), MAX_PAGE)
        async with self._db.transaction(settings) as conn:
            found = await storage.list_events(conn, None, parse_page_token(page_token_in), None, limit)
        return found, page_token(found[-1].id) if len(found) == limit else ""

    async def record_export(self, caller: Principal, export_id: str, requested_by: str) -> None:
        """The worker makes exports but owns no audit trail: it tells us who asked, before queueing one."""
        caller.require_service("worker")
        tenant_id = caller.require_tenant()
        target = parse_id("export_id", export_id)
        if not 0 < len(requested_by) <= MAX_REQUESTER_CHARS:
            raise InvalidArgument.of("requested_by", f"must be 1 to {MAX_REQUESTER_CHARS} characters")
        async with self._db.tenant(tenant_id) as conn:
            await record(
                conn, caller, "export.request", target=str(target), detail={"requested_by": requested_by}
            )


def visibility(caller: Principal) -> dict[str, str]:
    """The row-level-security settings for reading the control plane as ``caller``."""
    if caller.platform_operator:
        return {"app.operator": "on"}
    if caller.supplier_id is not None:
        return {"app.supplier_id": str(caller.supplier_id)}
    return {"app.tenant_id": str(caller.require_role(*MANAGERS))}
