"""A supplier's brand through GraphQL: what the caller sees (its tenant's supplier's brand, or its own
supplier's), and a supplier's admins setting theirs. Tenancy checks every value; a bad colour, logo or
domain comes back as a typed user error on its field."""

from __future__ import annotations

import base64
import binascii

import strawberry
from strawberry.types import Info

from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import IsSignedIn, IsSupplierStaff
from gateway.graphql.scalars import Timestamp
from sfcloud.v1 import tenancy_pb2 as pb


@strawberry.type(description="What a supplier's tenants see instead of sfcloud.")
class Brand:
    product_name: str
    primary_colour: str = strawberry.field(description="#rrggbb: the header, under white text.")
    accent_colour: str = strawberry.field(description="#rrggbb: buttons and links.")
    domain: str | None = strawberry.field(description="The host the supplier serves its tenants on.")
    logo_type: str | None = strawberry.field(
        description="image/png or image/jpeg; null without a logo (the web app serves it at /brand/logo)."
    )
    updated_at: Timestamp

    @classmethod
    def from_pb(cls, b: pb.Brand) -> Brand:
        return cls(
            product_name=b.product_name,
            primary_colour=b.primary_colour,
            accent_colour=b.accent_colour,
            domain=b.domain or None,
            logo_type=b.logo_type or None,
            updated_at=b.updated_at_ns,
        )


@strawberry.type(description="The brand after the change, or why it was not changed.")
class BrandPayload:
    brand: Brand | None
    errors: list[UserError] = strawberry.field(description="Empty when it worked.")


@strawberry.type
class BrandQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="The brand you see: your tenant's supplier's, or your supplier's; null for sfcloud's own.",
    )
    async def brand(self, info: Info) -> Brand | None:
        ctx = info.context
        found = await ctx.backends.call(ctx.backends.tenancy.GetBrand, pb.GetBrandRequest(), ctx.principal)
        return Brand.from_pb(found.brand) if found.HasField("brand") else None


@strawberry.type
class BrandMutation:
    @strawberry.mutation(
        permission_classes=[IsSupplierStaff],
        description="Set your supplier's brand (its admins): the colours must read at WCAG AA against their"
        " text; a logo is a PNG or JPEG of at most 100 KB, base64-encoded; without one the current logo stays"
        " (unless removeLogo).",
    )
    async def set_brand(
        self,
        info: Info,
        product_name: str,
        primary_colour: str,
        accent_colour: str,
        domain: str | None = None,
        logo_base64: str | None = None,
        logo_type: str | None = None,
        remove_logo: bool = False,
    ) -> BrandPayload:
        try:
            logo = base64.b64decode(logo_base64 or "", validate=True)
        except binascii.Error:
            return BrandPayload(
                brand=None, errors=[UserError(field="logoBase64", code="BAD_LOGO", message="is not base64")]
            )
        request = pb.SetBrandRequest(
            product_name=product_name,
            primary_colour=primary_colour,
            accent_colour=accent_colour,
            domain=domain or "",
            logo=logo,
            logo_type=logo_type or "",
            remove_logo=remove_logo,
        )
        ctx = info.context
        done, problems = await attempt(
            ctx.backends.call(ctx.backends.tenancy.SetBrand, request, ctx.principal)
        )
        return BrandPayload(brand=Brand.from_pb(done.brand) if done else None, errors=problems)
