"""Suppliers' brands: a supplier's admin sets its product name, logo, colours and domain; the gateway asks
which brand a host serves (before anyone signs in) and which one a signed-in caller sees; the control
plane's emails speak in the brand of the tenant (or person, or supplier) they are about, with links to its
domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.runtime.errors import PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import require_name
from services.tenancy import audit
from services.tenancy.brand_models import (
    ACCENT_AGAINST,
    PRIMARY_TEXT,
    Brand,
    check_colour,
    check_domain,
    check_logo,
    platform_zone,
)
from services.tenancy.organisations import is_supplier_admin
from services.tenancy.storage import brands as storage

DEFAULT_PRODUCT = "sfcloud"


@dataclass(frozen=True)
class BrandChange:
    product_name: str
    primary_colour: str
    accent_colour: str
    domain: str
    logo: bytes = b""  # empty: keep the stored logo (unless remove_logo)
    logo_type: str = ""
    remove_logo: bool = False


@dataclass(frozen=True)
class MailBrand:
    """How an email names the platform and where its links go."""

    product: str
    base_url: str

    def link(self, path: str) -> str:
        return f"{self.base_url}{path}"


def mail_brand(brand: Brand | None, public_url: str) -> MailBrand:
    """sfcloud at the public URL, or the supplier's product at its own domain (same scheme: HTTPS in
    production, where every custom domain has its certificate)."""
    public_url = public_url.rstrip("/")
    if brand is None:
        return MailBrand(DEFAULT_PRODUCT, public_url)
    base = f"{urlsplit(public_url).scheme}://{brand.domain}" if brand.domain else public_url
    return MailBrand(brand.product_name, base)


class Brands:
    def __init__(self, db: Transactions, public_url: str) -> None:
        self._db = db
        self._reserved = platform_zone(public_url)

    async def for_domain(self, caller: Principal, domain: str) -> Brand | None:
        """The brand served on ``domain`` (the gateway asks with the request's host), if any."""
        caller.require_service("gateway")
        host = domain.strip().lower().rstrip(".")
        async with self._db.transaction({}) as conn:
            return await storage.of_domain(conn, host) if host else None

    async def for_caller(self, caller: Principal) -> Brand | None:
        """A tenant's people and keys see their tenant's supplier's brand; a supplier's staff their own."""
        if caller.kind not in (Kind.USER, Kind.API_KEY):
            raise PermissionDenied("brands are for people and their keys", reason="NOT_A_PERSON_OR_KEY")
        if caller.tenant_id is not None:
            async with self._db.tenant(caller.tenant_id) as conn:
                return await storage.of_tenant(conn, caller.tenant_id)
        if caller.supplier_id is not None:
            async with self._db.transaction({"app.supplier_id": str(caller.supplier_id)}) as conn:
                return await storage.of_supplier(conn, caller.supplier_id)
        return None

    async def set(self, caller: Principal, change: BrandChange) -> Brand:
        """Only the supplier's admins brand it; every value is checked before anything is stored."""
        supplier_id = caller.require_supplier()
        keep_logo = not change.logo and not change.remove_logo
        brand = Brand(
            supplier_id,
            require_name("product_name", change.product_name, 60),
            check_colour("primary_colour", change.primary_colour, PRIMARY_TEXT),
            check_colour("accent_colour", change.accent_colour, ACCENT_AGAINST),
            check_domain(change.domain, self._reserved),
            change.logo or None,
            check_logo(change.logo, change.logo_type) if change.logo else None,
        )
        settings = {"app.supplier_id": str(supplier_id), "app.user_id": caller.subject}
        async with self._db.transaction(settings) as conn:
            if not await is_supplier_admin(conn, caller, supplier_id):
                raise PermissionDenied("only the supplier's admins change its brand", reason="NOT_ADMIN")
            await storage.upsert(conn, brand, keep_logo, caller.subject)
            await audit.record(
                conn,
                caller,
                "supplier.brand",
                supplier_id=supplier_id,
                target=str(supplier_id),
                detail={"domain": brand.domain, "logo": "kept" if keep_logo else bool(brand.logo)},
            )
            return await storage.of_supplier(conn, supplier_id)


async def mail_brand_of_tenant(conn, tenant_id: uuid.UUID, public_url: str) -> MailBrand:
    return mail_brand(await storage.of_tenant(conn, tenant_id), public_url)


async def mail_brand_of_user(conn, user_id: uuid.UUID, public_url: str) -> MailBrand:
    return mail_brand(await storage.of_user(conn, user_id), public_url)


async def mail_brand_of_supplier(conn, supplier_id: uuid.UUID, public_url: str) -> MailBrand:
    return mail_brand(await storage.of_supplier(conn, supplier_id), public_url)
