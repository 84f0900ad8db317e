"""Authorization, only here: resolvers assume their permission classes passed."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from services.runtime.principal import Kind, Role, Scope


class CanReadTenant(BasePermission):
    """A signed-in member of a tenant (any role), or an API key of a tenant with the read scope."""

    message = "this needs a tenant member's session or an API key with the read scope"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        if principal is None or principal.tenant_id is None:
            return False
        return principal.kind is Kind.USER or Scope.READ in principal.scopes


class IsSignedIn(BasePermission):
    """Anyone the gateway recognised: a session or an API key."""

    message = "sign in or send an API key first"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.caller.principal is not None


class IsSupplierStaff(BasePermission):
    """A signed-in member of a supplier's staff (tenancy checks who among them is an admin)."""

    message = "this needs a supplier staff member's signed-in session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return principal is not None and principal.kind is Kind.USER and principal.supplier_id is not None


class IsSupplierStaffOrOperator(BasePermission):
    """A supplier's staff member or the platform operator, signed in (tenancy scopes what each sees)."""

    message = "this needs a supplier staff member's or the operator's signed-in session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return IsSupplierStaff().has_permission(source, info) or IsPlatformOperator().has_permission(
            source, info
        )


class IsSignedInPerson(BasePermission):
    """Anyone signed in with a session (a tenant member, a supplier's staff, the operator), not an API key."""

    message = "this needs a signed-in session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return principal is not None and principal.kind is Kind.USER


class IsPlatformOperator(BasePermission):
    """The programme's platform operator, signed in (tenancy checks the same)."""

    message = "only the platform operator may do this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return principal is not None and principal.kind is Kind.USER and principal.platform_operator


class IsPerson(BasePermission):
    """A signed-in person acting for a tenant, for a supplier or as the platform operator (not an API key);
    tenancy decides what each may see and do (the operator: every tenant and the whole audit log)."""

    message = "this needs a tenant member's, a supplier staff member's or the operator's signed-in session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return (
            principal is not None
            and principal.kind is Kind.USER
            and (
                principal.tenant_id is not None
                or principal.supplier_id is not None
                or principal.platform_operator
            )
        )


class CanReadTickets(BasePermission):
    """A tenant's reader (a member, or an API key with the read scope), or a supplier's staff member."""

    message = "this needs a tenant reader, or a supplier staff member's session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return IsSupplierStaff().has_permission(source, info) or CanReadTenant().has_permission(source, info)


class CanReadSharedData(CanReadTickets):
    """Who reads what was shared with an organisation: a tenant's readers, or a supplier's staff (a grant
    names the organisation; analytics and tenancy check the grant itself)."""

    message = "shared data needs a tenant reader, or a supplier staff member's session"


class IsTenantUser(BasePermission):
    """A signed-in member of a tenant (a person, not an API key): managing keys is never a key's job."""

    message = "this needs a tenant member's signed-in session"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return principal is not None and principal.kind is Kind.USER and principal.tenant_id is not None


class _TenantRole(BasePermission):
    """A signed-in user of a tenant holding one of ``roles`` (API keys do not configure)."""

    roles: frozenset[Role] = frozenset()
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        return (
            principal is not None
            and principal.tenant_id is not None
            and principal.kind is Kind.USER
            and principal.role in self.roles
        )


class CanConfigureTenant(_TenantRole):
    """A tenant's owner or admin (shift calendars, machine settings)."""

    message = "this needs a tenant owner's or admin's session"
    roles = frozenset({Role.OWNER, Role.ADMIN})


class CanRecordEvents(_TenantRole):
    """A tenant's owner, admin or operator (recording SPC events)."""

    message = "this needs a tenant owner's, admin's or operator's session"
    roles = frozenset({Role.OWNER, Role.ADMIN, Role.OPERATOR})


class CanExport(BasePermission):
    """A tenant's owner or admin, or an API key of a tenant with the read scope (the worker checks it too)."""

    message = "exports need a tenant owner or admin, or an API key with the read scope"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        if principal is None or principal.tenant_id is None:
            return False
        if principal.kind is Kind.USER:
            return principal.role in (Role.OWNER, Role.ADMIN)
        return principal.kind is Kind.API_KEY and Scope.READ in principal.scopes


class CanHoldExports(CanExport):
    """Whose exports these are: a tenant's exporters (as ``CanExport``), or a supplier's staff, whose exports
    are of grants given to the supplier (tenancy lets only its admins start and download one)."""

    message = "exports need a tenant owner or admin, an API key with the read scope, or a supplier's staff"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.caller.principal
        if principal is not None and principal.kind is Kind.USER and principal.tenant_id is None:
            return principal.supplier_id is not None
        return super().has_permission(source, info, **kwargs)


class CanReadTenantRecord(CanReadTickets):
    """Who reads a tenant's record: its readers (an ingest-only key is not one), or a supplier's staff
    (tenancy shows them the tenants they resell only)."""

    message = "a tenant's record needs a tenant reader, or a supplier staff member's session"
