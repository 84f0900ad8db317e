"""Suppliers, tenants and subscriptions: who resells whom, on which plan, in which state."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from services.runtime.principal import Kind, Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit, layout
from services.tenancy.accounts import insert_account, new_account
from services.tenancy.catalog import Catalog, Template
from services.tenancy.models import (
    CANCEL_GRACE_DAYS,
    STATES,
    TRANSITIONS,
    TRIAL_DAYS,
    Joined,
    Plan,
    Supplier,
    Tenant,
    User,
)
from services.tenancy.passwords import Passwords
from services.tenancy.storage import organisations as storage
from services.tenancy.support_models import Listing

if TYPE_CHECKING:
    from services.tenancy.invitations import Invitations

MAX_PAGE = 200


@dataclass(frozen=True)
class Owner:
    """A new tenant's first person, to invite: their email and (for the greeting) name."""

    email: str
    name: str = ""


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug if len(slug) >= 2 else f"org-{uuid.uuid4().hex[:8]}"


def encode_cursor(row: Tenant | Listing) -> str:
    """A page token after ``row`` in (name, id) order: tenants, and suppliers in the directory."""
    return base64.urlsafe_b64encode(json.dumps([row.name, str(row.id)]).encode()).decode()


def decode_cursor(token: str) -> tuple[str, str] | None:
    if not token:
        return None
    try:
        name, tenant_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(name), str(uuid.UUID(tenant_id))
    except (ValueError, TypeError):
        raise InvalidArgument.of("page_token", "is not a token this API gave out") from None


async def check_quota(conn, tenant_id: uuid.UUID, quota: str, adding: int = 1) -> None:
    """Refuse to add past the plan's quota (RESOURCE_EXHAUSTED, naming the quota and the plan)."""
    tenant = await storage.get_tenant(conn, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found", reason="TENANT_NOT_FOUND")
    plan = await storage.get_plan(conn, tenant.plan_code)
    used = (await storage.usage_counts(conn))[quota]
    limit = plan.quotas[quota]
    if used + adding > limit:
        raise ResourceExhausted(
            f"the {plan.name} plan allows {limit} {quota.replace('_', ' ')}; {used} in use",
            reason="QUOTA_EXCEEDED",
        )


async def check_quota_after(conn, tenant_id: uuid.UUID) -> None:
    """After a bulk change (a template's plant, a manifest): refuse the whole change if any quota is exceeded."""
    for quota in ("devices", "series", "users", "api_keys"):
        await check_quota(conn, tenant_id, quota, adding=0)


def check_staff_role(role: str) -> None:
    if role not in ("admin", "staff"):
        raise InvalidArgument.of("role", "must be admin or staff")


async def require_supplier_manager(conn, caller: Principal, supplier_id: uuid.UUID) -> None:
    """The operator, or an admin of the supplier, may invite onto its staff and see whom it invited; then
    the supplier must exist."""
    if not caller.platform_operator and not await is_supplier_admin(conn, caller, supplier_id):
        raise PermissionDenied(
            "only the operator or the supplier's admin may manage its staff", reason="NOT_ADMIN"
        )
    await require_supplier_exists(conn, supplier_id)


async def require_supplier_exists(conn, supplier_id: uuid.UUID) -> None:
    """NOT_FOUND for a supplier row-level security does not show (one that does not exist, to the operator)."""
    if await storage.get_supplier(conn, supplier_id) is None:
        raise NotFound("supplier not found", reason="SUPPLIER_NOT_FOUND")


async def is_supplier_admin(conn, caller: Principal, supplier_id: uuid.UUID) -> bool:
    """Whether the caller is an admin of the supplier (needs app.supplier_id or app.user_id set)."""
    if caller.supplier_id != supplier_id:
        return False
    roles = await storage.supplier_memberships_of(conn, uuid.UUID(caller.subject))
    return any(s.id == supplier_id and role == "admin" for s, role in roles)


class Organisations:
    def __init__(
        self,
        db: Transactions,
        passwords: Passwords,
        catalog: Catalog,
        invitations: Invitations,
        cells: tuple[str, ...] = ("default",),
    ) -> None:
        self._db = db
        self._invitations = invitations
        self._passwords = passwords
        self._catalog = catalog
        self._cells = cells

    def plans(self, caller: Principal) -> list[Plan]:
        """The catalog's plans in its order (smallest first; enterprise is priced on request): what a
        supplier sells from and a tenant compares with."""
        if caller.kind is Kind.DEVICE:
            raise PermissionDenied("devices only send telemetry", reason="NOT_A_PERSON_OR_KEY")
        return list(self._catalog.plans.values())

    async def create_supplier(self, caller: Principal, name: str, profile: dict[str, str]) -> Supplier:
        caller.require_platform_operator()
        supplier = Supplier(uuid.uuid4(), slugify(name), require_name("name", name), **profile)
        async with self._db.transaction({"app.operator": "on"}) as conn:
            await storage.insert_supplier(conn, supplier)
            await audit.record(
                conn, caller, "supplier.create", supplier_id=supplier.id, target=str(supplier.id)
            )
        return supplier

    async def create_supplier_user(
        self, caller: Principal, supplier_id: str, email: str, password: str, display_name: str, role: str
    ) -> User:
        """The platform operator makes an account with a password on a supplier's staff. A supplier's admins
        add staff only by invitation, which does not tell whether the email has an account, as an account
        made with a password they chose would (RELIABILITY I4); the operator may know: ALREADY_EXISTS."""
        caller.require_platform_operator()
        target = parse_id("supplier_id", supplier_id)
        check_staff_role(role)
        user, password_hash = await new_account(self._passwords, email, password, display_name)
        async with self._db.transaction({"app.supplier_id": str(target)}) as conn:
            await require_supplier_exists(conn, target)
            await insert_account(conn, user, password_hash)
            await storage.add_supplier_member(conn, target, user.id, role)
            await audit.record(
                conn,
                caller,
                "supplier.add_user",
                supplier_id=target,
                target=str(user.id),
                detail={"role": role},
            )
        return user

    async def create_tenant(
        self,
        caller: Principal,
        name: str,
        plan_code: str,
        supplier_id: str,
        trial: bool,
        template_code: str = "",
        cell: str = "",
        owner: Owner | None = None,
    ) -> tuple[Tenant, uuid.UUID | None]:
        """The operator creates tenants for any supplier (or none); a supplier's staff for their own.
        With a template, the tenant starts with its default plant, cycle times, KPI targets and alarm defaults.
        Only the operator places a tenant on a cell other than the default one (e.g. a dedicated cell).
        With an ``owner``, its first person is invited as owner in the same transaction, mailed before it
        commits: a tenant is never left with nobody because the mail server was down."""
        supplier = self._tenant_supplier(caller, supplier_id)
        template = self._template(template_code)
        tenant = Tenant(
            uuid.uuid4(),
            require_name("name", name),
            slugify(name),
            plan_code,
            supplier,
            template=template.code if template else None,
            cell=self._cell(caller, cell),
        )
        settings = {"app.tenant_id": str(tenant.id)} | self._actor_settings(caller)
        async with self._db.transaction(settings) as conn:
            if await storage.get_plan(conn, plan_code) is None:
                raise InvalidArgument.of("plan_code", f"no plan {plan_code!r}", reason="UNKNOWN_PLAN")
            if supplier is not None:
                await require_supplier_exists(conn, supplier)
            await storage.insert_tenant(
                conn, tenant, TRIAL_DAYS if trial else None, template.kpi_targets if template else None
            )
            if template is not None:
                sites = template.data["layout"]["sites"]
                await layout.build(conn, tenant.id, str(tenant.id), sites, self._catalog.machine_types)
                await check_quota_after(conn, tenant.id)
            await audit.record(
                conn,
                caller,
                "tenant.create",
                tenant_id=tenant.id,
                supplier_id=supplier,
                target=str(tenant.id),
                detail={"plan": plan_code, "trial": trial},
            )
            invitation = None
            if owner is not None:
                invitation = await self._invitations.record(
                    conn, caller, Joined(tenant_id=tenant.id), owner.email, Role.OWNER.value, owner.name
                )
                await self._invitations.mail(invitation)
        return replace(tenant, state="trial" if trial else "active"), invitation and invitation.id

    def _cell(self, caller: Principal, cell: str) -> str:
        if not cell or cell == "default":
            return "default"
        caller.require_platform_operator()
        if cell not in self._cells:
            raise InvalidArgument.of(
                "cell", f"no cell {cell!r} (configured: {', '.join(self._cells)})", reason="UNKNOWN_CELL"
            )
        return cell

    def _template(self, code: str) -> Template | None:
        if not code:
            return None
        if code not in self._catalog.templates:
            known = ", ".join(sorted(self._catalog.templates))
            raise InvalidArgument.of(
                "template", f"no template {code!r} (known: {known})", reason="UNKNOWN_TEMPLATE"
            )
        return self._catalog.templates[code]

    @staticmethod
    def _tenant_supplier(caller: Principal, supplier_id: str) -> uuid.UUID | None:
        if caller.platform_operator:
            return parse_id("supplier_id", supplier_id) if supplier_id else None
        own = caller.require_supplier()
        if supplier_id and parse_id("supplier_id", supplier_id) != own:
            raise PermissionDenied("a supplier creates tenants only for itself", reason="OTHER_SUPPLIER")
        return own

    @staticmethod
    def _actor_settings(caller: Principal) -> dict[str, str]:
        if caller.platform_operator:
            return {"app.operator": "on"}
        return {"app.supplier_id": str(caller.require_supplier())}

    async def list_tenants(self, caller: Principal, page_size: int, token: str) -> tuple[list[Tenant], str]:
        """A supplier's staff see its tenants; the operator and the worker service (retention) see all."""
        limit = min(max(page_size or 50, 1), MAX_PAGE)
        every = caller.platform_operator or _is_service(caller, "worker")
        settings = {"app.operator": "on"} if every else self._actor_settings(caller)
        supplier = None if every else caller.supplier_id
        async with self._db.transaction(settings) as conn:
            tenants = await storage.list_tenants(conn, supplier, decode_cursor(token), limit)
        return tenants, encode_cursor(tenants[-1]) if len(tenants) == limit else ""

    async def get_tenant(self, caller: Principal, tenant_id: str) -> Tenant:
        """A tenant's own members, its supplier and the operator may see its record."""
        target = parse_id("tenant_id", tenant_id)
        settings = self._reader_settings(caller)
        async with self._db.transaction(settings) as conn:
            tenant = await storage.get_tenant(conn, target)
        if tenant is None:
            raise NotFound("tenant not found", reason="TENANT_NOT_FOUND")
        return tenant

    def _reader_settings(self, caller: Principal) -> dict[str, str]:
        if caller.tenant_id is not None:
            return {"app.tenant_id": str(caller.tenant_id)}
        return self._actor_settings(caller)

    async def change_plan(self, caller: Principal, tenant_id: str, plan_code: str) -> Tenant:
        target = parse_id("tenant_id", tenant_id)
        async with self._db.transaction(self._actor_settings(caller)) as conn:
            tenant = await self._managed_tenant(conn, target)
            if await storage.get_plan(conn, plan_code) is None:
                raise InvalidArgument.of("plan_code", f"no plan {plan_code!r}", reason="UNKNOWN_PLAN")
            await storage.set_plan(conn, target, plan_code)
            await audit.record(
                conn,
                caller,
                "subscription.change_plan",
                tenant_id=target,
                supplier_id=tenant.supplier_id,
                target=str(target),
                detail={"from": tenant.plan_code, "to": plan_code},
            )
            return await storage.get_tenant(conn, target)

    async def set_state(self, caller: Principal, tenant_id: str, state: str, reason: str) -> Tenant:
        if state not in STATES:
            raise InvalidArgument.of("state", f"must be one of {', '.join(STATES)}")
        target = parse_id("tenant_id", tenant_id)
        async with self._db.transaction(self._actor_settings(caller)) as conn:
            tenant = await self._managed_tenant(conn, target)
            if state not in TRANSITIONS[tenant.state]:
                raise FailedPrecondition(
                    f"a {tenant.state} subscription cannot become {state}", reason="BAD_TRANSITION"
                )
            await storage.set_state(conn, target, state, CANCEL_GRACE_DAYS if state == "cancelled" else None)
            await audit.record(
                conn,
                caller,
                f"subscription.{state}",
                tenant_id=target,
                supplier_id=tenant.supplier_id,
                target=str(target),
                detail={"from": tenant.state, "reason": reason[:500]},
            )
            return await storage.get_tenant(conn, target)

    @staticmethod
    async def _managed_tenant(conn, target: uuid.UUID) -> Tenant:
        """The tenant, if row-level security lets this supplier (or the operator) see it."""
        tenant = await storage.get_tenant(conn, target)
        if tenant is None:
            raise NotFound("tenant not found", reason="TENANT_NOT_FOUND")
        return tenant


def _is_service(caller: Principal, name: str) -> bool:
    return caller.kind is Kind.SERVICE and caller.subject == name
