"""Who may come in: user logins, API keys and device credentials, and the users, keys and
devices a tenant's managers create, revoke and rotate."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

from services.runtime import keyset
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Kind, Principal, Role, Scope
from services.runtime.transactions import Transactions
from services.runtime.validation import parse_id, require_name
from services.tenancy import audit, credentials
from services.tenancy.accounts import insert_account, new_account
from services.tenancy.errors import BadCredentials
from services.tenancy.models import (
    MANAGERS,
    ApiKey,
    Device,
    DeviceIdentity,
    Membership,
    SignInLimits,
    User,
)
from services.tenancy.organisations import check_quota
from services.tenancy.passwords import Passwords
from services.tenancy.storage import access as storage
from services.tenancy.storage import organisations as org_storage

MAX_KEY_DAYS = 3650
MAX_MEMBERS_PAGE = 200
MAX_KEYS_PAGE = 200
REFUSED = "wrong email or password"  # every refused sign-in, so none tells an account exists or is locked
# A counted attempt's commit does not wait for the disk, so it takes no longer than an unknown email's
# lookup, which writes nothing (RELIABILITY A2: under load a wrong password answered up to 13 ms later than
# an unknown email). It is on disk before any refusal: the refusal's audit commits after it, and a commit
# waits for the log up to itself.
UNFLUSHED = {"synchronous_commit": "off"}


class Access:
    def __init__(self, db: Transactions, passwords: Passwords, limits: SignInLimits) -> None:
        self._db = db
        self._passwords = passwords
        self._limits = limits

    async def members(
        self, caller: Principal, page_size: int, page_token: str
    ) -> tuple[list[tuple[uuid.UUID, str, str, Role]], str]:
        """The caller's tenant's people, a page at a time; its people may see them, keys may not."""
        tenant_id = caller.require_role(*Role)
        limit = min(max(page_size or 50, 1), MAX_MEMBERS_PAGE)
        try:
            after = base64.urlsafe_b64decode(page_token.encode()).decode() if page_token else ""
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument.of("page_token", "is not a token this list gave") from None
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.members(conn, after, limit)
        token = (
            base64.urlsafe_b64encode(found[-1][1].lower().encode()).decode() if len(found) == limit else ""
        )
        return found, token

    async def login(
        self, caller: Principal, email: str, password: str
    ) -> tuple[User, list[Membership], list]:
        """The user, their tenant memberships and their supplier memberships; the gateway calls this.

        Each attempt on an account is counted *before* its password is checked, atomically, against the
        lock and the ceiling of ``SignInLimits``, so however many arrive at once no more are checked than
        they allow; a password reset lifts both. An attempt that may not be checked is verified against a
        dummy hash instead, as an unknown email is, and every refusal is the same UNAUTHENTICATED "wrong
        email or password": neither the answer nor its time tells whether the email has an account or the
        account is locked (the audit log tells `login.fail` from `login.locked`). A hash made with weaker
        parameters than today's is replaced by one made with today's (OWASP; RELIABILITY A1).
        """
        caller.require_service("gateway")
        async with self._db.transaction(UNFLUSHED) as conn:
            found = await storage.find_user_by_email(conn, email.strip())
            locks = await storage.reserve_attempt(conn, found[0].id, self._limits) if found else None
        user, counted = found[0] if found else None, locks is not None
        stored_hash = found[1] if counted else None  # an attempt not counted is checked against the dummy
        if not await self._passwords.verify(stored_hash, password) or not counted:
            await self._refuse(caller, email, user, checked=counted, locked=bool(locks))
        upgraded = await self._passwords.hash(password) if self._passwords.needs_rehash(stored_hash) else None
        async with self._db.transaction({"app.user_id": str(user.id)}) as conn:
            await storage.clear_failures(conn, user.id)
            if upgraded:
                await storage.upgrade_hash(conn, user.id, upgraded)
            memberships = await storage.memberships_of(conn, user.id)
            suppliers = await org_storage.supplier_memberships_of(conn, user.id)
        for membership in memberships:
            async with self._db.tenant(membership.tenant.id) as conn:
                await audit.record(conn, caller, "login", tenant_id=membership.tenant.id, target=str(user.id))
        return user, memberships, suppliers

    async def _refuse(
        self, caller: Principal, email: str, user: User | None, *, checked: bool, locked: bool
    ) -> None:
        """Audited `login.fail` when the password was checked (``locked``: its attempt locked the account),
        `login.locked` when an account's attempt was not (locked, or its ceiling reached); the same
        answer either way, after the same database work."""
        async with self._db.transaction({}) as conn:
            await audit.record(
                conn,
                caller,
                "login.fail" if checked or user is None else "login.locked",
                target=str(user.id) if user else email.strip()[:200],
                outcome="failed",
                detail={"locked": True} if locked else None,
            )
        raise BadCredentials(REFUSED)

    async def authenticate_device(self, caller: Principal, credential: str) -> DeviceIdentity:
        caller.require_service("ingest")
        prefix = credentials.credential_prefix(credential)
        if prefix is None:
            raise BadCredentials("device credential malformed", reason="CREDENTIAL_MALFORMED")
        async with self._db.transaction({"app.credential_prefix": prefix}) as conn:
            row = await storage.device_by_prefix(conn, prefix)
        if row is None or not credentials.credential_matches(credential, row[2]):
            raise BadCredentials("unknown device credential", reason="UNKNOWN_CREDENTIAL")
        return DeviceIdentity(
            tenant_id=row[0], device_id=row[1], state=row[3], cell=row[4], points_per_second=row[5]
        )

    async def authenticate_api_key(self, caller: Principal, key: str, recheck: bool = False) -> Principal:
        """The key's principal; every use is audited and its last-used time kept, except the gateway's
        re-checks of a key already in use on an open live socket (every few seconds, RELIABILITY G3)."""
        caller.require_service("gateway")
        prefix = credentials.api_key_prefix(key)
        if prefix is None:
            raise BadCredentials("API key malformed", reason="KEY_MALFORMED")
        async with self._db.transaction({"app.credential_prefix": prefix}) as conn:
            row = await storage.api_key_by_prefix(conn, prefix)
            if row is None or not credentials.credential_matches(key, row[2]):
                raise BadCredentials("unknown or revoked API key", reason="UNKNOWN_KEY")
            tenant_id, key_id, _, scopes, expired, state, cell = row
            if expired:
                raise BadCredentials("API key expired", reason="KEY_EXPIRED")
            principal = Principal(
                Kind.API_KEY,
                str(key_id),
                tenant_id=tenant_id,
                scopes=frozenset(scopes),
                origin=caller.origin,
                cell=cell,
            )
            if not recheck:
                await storage.touch_api_key(conn, key_id)
                await audit.record(
                    conn, principal, "api_key.use", target=str(key_id), detail={"state": state}
                )
        return principal

    async def create_user(
        self, caller: Principal, tenant_id: str, email: str, password: str, display_name: str, role: Role
    ) -> User:
        """The platform operator makes an account with a password in a tenant (seeding, moving a tenant in).
        A tenant's managers add people only by invitation, which answers alike whether or not the email has
        an account: an account made with a password they chose would tell them, by signing in or not
        (RELIABILITY I4). The operator may know which emails have accounts: one that has is ALREADY_EXISTS."""
        caller.require_platform_operator()
        target = parse_id("tenant_id", tenant_id)
        user, password_hash = await new_account(self._passwords, email, password, display_name)
        async with self._db.tenant(target) as conn:
            await check_quota(conn, target, "users")
            await insert_account(conn, user, password_hash)
            await storage.upsert_membership(conn, target, user.id, role)
            await audit.record(
                conn,
                caller,
                "user.create",
                tenant_id=target,
                target=str(user.id),
                detail={"role": role.value},
            )
        return user

    async def create_device(self, caller: Principal, name: str) -> tuple[Device, str]:
        tenant_id = caller.require_role(*MANAGERS)
        device = Device(uuid.uuid4(), require_name("name", name))
        credential = credentials.new_device_credential()
        hashed = credentials.credential_hash(credential)
        async with self._db.tenant(tenant_id) as conn:
            await check_quota(conn, tenant_id, "devices")
            await storage.insert_device(
                conn, tenant_id, device, credentials.credential_prefix(credential), hashed
            )
            await audit.record(conn, caller, "device.create", target=str(device.id))
        return device, credential

    async def list_devices(self, caller: Principal) -> list[tuple]:
        """Any reader of the tenant may see its devices; credentials never leave tenancy."""
        async with self._db.tenant(caller.require_tenant()) as conn:
            return await storage.list_devices(conn)

    async def rotate_device(self, caller: Principal, device_id: str) -> str:
        """A new credential for the device; the old one stops working at once."""
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("device_id", device_id)
        credential = credentials.new_device_credential()
        async with self._db.tenant(tenant_id) as conn:
            rotated = await storage.rotate_device(
                conn,
                target,
                credentials.credential_prefix(credential),
                credentials.credential_hash(credential),
            )
            if not rotated:
                raise NotFound("device not found", reason="DEVICE_NOT_FOUND")
            await audit.record(conn, caller, "device.rotate", target=str(target))
        return credential

    async def revoke_device(self, caller: Principal, device_id: str) -> None:
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("device_id", device_id)
        async with self._db.tenant(tenant_id) as conn:
            if not await storage.revoke_device(conn, target):
                raise NotFound("device not found", reason="DEVICE_NOT_FOUND")
            await audit.record(conn, caller, "device.revoke", target=str(target))

    async def create_api_key(
        self, caller: Principal, name: str, scopes: list[str], expires_in_days: int
    ) -> tuple[ApiKey, str]:
        tenant_id = caller.require_role(*MANAGERS)
        valid = {s.value for s in Scope}
        if not scopes or not set(scopes) <= valid:
            raise InvalidArgument.of("scopes", f"choose one or more of {', '.join(sorted(valid))}")
        if not 0 <= expires_in_days <= MAX_KEY_DAYS:
            raise InvalidArgument.of("expires_in_days", f"must be 0 (never) to {MAX_KEY_DAYS}")
        secret = credentials.new_api_key()
        expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
        key = ApiKey(
            uuid.uuid4(),
            require_name("name", name),
            credentials.api_key_prefix(secret),
            tuple(sorted(set(scopes))),
            datetime.now(UTC),
            expires,
            None,
            None,
        )
        async with self._db.tenant(tenant_id) as conn:
            await check_quota(conn, tenant_id, "api_keys")
            await storage.insert_api_key(
                conn, tenant_id, key, credentials.credential_hash(secret), caller.subject
            )
            await audit.record(
                conn, caller, "api_key.create", target=str(key.id), detail={"scopes": list(key.scopes)}
            )
        return key, secret

    async def list_api_keys(
        self, caller: Principal, page_size: int, page_token: str
    ) -> tuple[list[ApiKey], str]:
        """A page of the tenant's keys, oldest first, and the next page's token; a size of 0 is every key."""
        tenant_id = caller.require_role(*MANAGERS)
        after = keyset.key_after(page_token, datetime, uuid.UUID)
        size = keyset.page_size(page_size, MAX_KEYS_PAGE, MAX_KEYS_PAGE) if page_size else None
        async with self._db.tenant(tenant_id) as conn:
            found = await storage.list_api_keys(conn, after, size + 1 if size else None)
        return keyset.cut(found, size, lambda k: (k.created_at, k.id)) if size else (found, "")

    async def revoke_api_key(self, caller: Principal, key_id: str) -> None:
        tenant_id = caller.require_role(*MANAGERS)
        target = parse_id("key_id", key_id)
        async with self._db.tenant(tenant_id) as conn:
            if not await storage.revoke_api_key(conn, target):
                raise NotFound("API key not found", reason="KEY_NOT_FOUND")
            await audit.record(conn, caller, "api_key.revoke", target=str(target))
