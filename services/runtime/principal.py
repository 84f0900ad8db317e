"""Who is calling: the principal a verified token or credential stands for.

The principal travels in a context variable set by the auth interceptor for
the length of one RPC; services read it with :func:`current_principal` and
never take a tenant id from a request body.
"""

from __future__ import annotations

import contextvars
import enum
import uuid
from dataclasses import dataclass, field

from services.runtime.errors import PermissionDenied, Unauthenticated


class Kind(enum.StrEnum):
    USER = "user"
    API_KEY = "api_key"
    DEVICE = "device"
    SERVICE = "service"


class Scope(enum.StrEnum):
    """What an API key may do."""

    READ = "read"
    WRITE = "write"
    INGEST = "ingest"


class Role(enum.StrEnum):
    """A user's role in one tenant, strongest first."""

    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    subject: str
    tenant_id: uuid.UUID | None = None
    role: Role | None = None
    platform_operator: bool = False
    supplier_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    origin: str = ""  # where the call came from (the client's address, as the gateway saw it), for audit
    cell: str = "default"  # the database cell of the tenant's telemetry

    def require_tenant(self) -> uuid.UUID:
        """The tenant this call acts in; a call without one is refused."""
        if self.tenant_id is None:
            raise PermissionDenied("this call needs a tenant context", reason="NO_TENANT")
        return self.tenant_id

    def require_role(self, *roles: Role) -> uuid.UUID:
        """The tenant, if the caller is a user holding one of ``roles`` in it."""
        tenant = self.require_tenant()
        if self.kind is not Kind.USER or self.role not in roles:
            raise PermissionDenied("your role does not allow this", reason="ROLE")
        return tenant

    def require_scope(self, scope: Scope) -> uuid.UUID:
        """The tenant, if the caller is a user of it or an API key of it holding ``scope``."""
        tenant = self.require_tenant()
        if self.kind is Kind.USER or (self.kind is Kind.API_KEY and scope in self.scopes):
            return tenant
        raise PermissionDenied(f"this needs the {scope.value} scope", reason="SCOPE")

    def require_supplier(self) -> uuid.UUID:
        """The supplier a supplier's staff member acts for."""
        if self.kind is not Kind.USER or self.supplier_id is None:
            raise PermissionDenied("only a supplier's staff may do this", reason="NOT_SUPPLIER")
        return self.supplier_id

    def require_service(self, *names: str) -> None:
        if self.kind is not Kind.SERVICE or self.subject not in names:
            raise PermissionDenied("only internal services may call this", reason="NOT_A_SERVICE")

    def require_platform_operator(self) -> None:
        if not (self.kind is Kind.USER and self.platform_operator):
            raise PermissionDenied("only the platform operator may do this", reason="NOT_OPERATOR")


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("sf_principal", default=None)


def current_principal() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no verified caller")
    return principal


def bind_principal(principal: Principal) -> contextvars.Token:
    return _current.set(principal)


def unbind_principal(token: contextvars.Token) -> None:
    _current.reset(token)
