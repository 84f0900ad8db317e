"""The tenancy rules: who may create and see what. No gRPC and no SQL here."""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal, Role
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import credentials, storage
from services.tenancy.errors import BadCredentials, UnknownParent, WeakPassword
from services.tenancy.models import (
    ASSET_KINDS,
    PARENT_KINDS,
    SERIES_KINDS,
    Asset,
    Device,
    DeviceIdentity,
    Membership,
    Series,
    Tenant,
    User,
)

MANAGERS = (Role.OWNER, Role.ADMIN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Passwords(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, stored_hash: str | None, password: str) -> bool: ...


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug if len(slug) >= 2 else f"tenant-{uuid.uuid4().hex[:8]}"


class TenancyService:
    def __init__(self, db: Transactions, passwords: Passwords) -> None:
        self._db = db
        self._passwords = passwords

    async def login(self, caller: Principal, email: str, password: str) -> tuple[User, list[Membership]]:
        caller.require_service("gateway")
        async with self._db.transaction({}) as conn:
            found = await storage.find_user_by_email(conn, email.strip())
        user, stored_hash = found if found else (None, None)
        if not await self._passwords.verify(stored_hash, password) or user is None:
            raise BadCredentials("wrong email or password")
        async with self._db.transaction({"app.user_id": str(user.id)}) as conn:
            return user, await storage.memberships_of(conn, user.id)

    async def authenticate_device(self, caller: Principal, credential: str) -> DeviceIdentity:
        caller.require_service("ingest")
        prefix = credentials.credential_prefix(credential)
        if prefix is None:
            raise BadCredentials("device credential malformed", reason="CREDENTIAL_MALFORMED")
        async with self._db.transaction({"app.credential_prefix": prefix}) as conn:
            row = await storage.device_by_prefix(conn, prefix)
        if row is None or not credentials.credential_matches(credential, row[2]):
            raise BadCredentials("unknown device credential", reason="UNKNOWN_CREDENTIAL")
        return DeviceIdentity(tenant_id=row[0], device_id=row[1])

    async def create_tenant(self, caller: Principal, name: str, plan_code: str) -> Tenant:
        caller.require_platform_operator()
        tenant = Tenant(uuid.uuid4(), require_name("name", name), slugify(name), plan_code)
        async with self._db.tenant(tenant.id) as conn:
            if not await storage.plan_exists(conn, plan_code):
                raise InvalidArgument.of("plan_code", f"no plan {plan_code!r}", reason="UNKNOWN_PLAN")
            await storage.insert_tenant(conn, tenant, supplier_id=None)
        return tenant

    async def create_user(
        self, caller: Principal, email: str, password: str, display_name: str, role: Role
    ) -> User:
        tenant_id = caller.require_role(*MANAGERS)
        if not _EMAIL.match(email.strip()):
            raise InvalidArgument.of("email", "is not an email address")
        if len(password) < credentials.MIN_PASSWORD_LENGTH:
            raise WeakPassword.of(
                "password", f"must be at least {credentials.MIN_PASSWORD_LENGTH} characters"
            )
        if role is Role.OWNER and caller.role is not Role.OWNER:
            raise InvalidArgument.of("role", "only an owner may add another owner")
        user = User(uuid.uuid4(), email.strip(), require_name("display_name", display_name), False)
        password_hash = await self._passwords.hash(password)
        async with self._db.tenant(tenant_id) as conn:
            await storage.insert_user(conn, user, password_hash)
            await storage.upsert_membership(conn, tenant_id, user.id, role)
        return user

    async def create_asset(self, caller: Principal, parent_id: str, kind: str, name: str) -> Asset:
        tenant_id = caller.require_role(*MANAGERS)
        if kind not in ASSET_KINDS:
            raise InvalidArgument.of("kind", f"must be one of {', '.join(ASSET_KINDS)}")
        parent = parse_id("parent_id", parent_id) if parent_id else None
        asset = Asset(uuid.uuid4(), parent, kind, require_name("name", name))
        async with self._db.tenant(tenant_id) as conn:
            parent_kind = await self._parent_kind(conn, parent)
            if parent_kind not in PARENT_KINDS[kind]:
                raise InvalidArgument.of(
                    "parent_id", f"a {kind} cannot sit under {parent_kind or 'the root'}"
                )
            await storage.insert_asset(conn, tenant_id, asset)
        return asset

    @staticmethod
    async def _parent_kind(conn: Any, parent: uuid.UUID | None) -> str | None:
        if parent is None:
            return None
        found = await storage.get_asset(conn, parent)
        if found is None:
            raise UnknownParent("parent asset not found")
        return found.kind

    async def create_series(
        self, caller: Principal, machine_id: str, name: str, unit: str, kind: str, decimals: int
    ) -> Series:
        tenant_id = caller.require_role(*MANAGERS)
        if kind not in SERIES_KINDS:
            raise InvalidArgument.of("kind", f"must be one of {', '.join(SERIES_KINDS)}")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise InvalidArgument.of("name", "must be a lower-case tag like spindle_temp")
        machine = parse_id("machine_id", machine_id)
        series = Series(uuid.uuid4(), machine, name, unit[:32], kind, min(decimals, 12))
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.get_asset(conn, machine)
            if found is None or found.kind != "machine":
                raise NotFound("machine not found", reason="MACHINE_NOT_FOUND")
            await storage.insert_series(conn, tenant_id, series)
        return series

    async def create_device(self, caller: Principal, name: str) -> tuple[Device, str]:
        tenant_id = caller.require_role(*MANAGERS)
        device = Device(uuid.uuid4(), require_name("name", name))
        credential = credentials.new_device_credential()
        prefix = credentials.credential_prefix(credential)
        async with self._db.tenant(tenant_id) as conn:
            await storage.insert_device(
                conn, tenant_id, device, prefix, credentials.credential_hash(credential)
            )
        return device, credential

    async def list_assets(self, caller: Principal) -> list[Asset]:
        async with self._db.tenant(caller.require_tenant()) as conn:
            return await storage.list_assets(conn)

    async def list_series(
        self, caller: Principal, machine_ids: list[str], series_ids: list[str]
    ) -> list[Series]:
        machines = [parse_id("machine_ids", m) for m in machine_ids]
        series = [parse_id("series_ids", s) for s in series_ids]
        async with self._db.tenant(caller.require_tenant()) as conn:
            return await storage.list_series(conn, machines, series)
