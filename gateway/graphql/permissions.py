"""Authorization, only here: resolvers assume their permission classes passed."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class IsTenantMember(BasePermission):
    """Signed in and acting in a tenant (any role may read)."""

    message = "sign in to a tenant first"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        session = info.context.session
        return session is not None and session.tenant_id is not None


class IsSignedIn(BasePermission):
    message = "sign in first"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.session is not None
