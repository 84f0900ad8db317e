"""The control plane's mails in a supplier's brand (issue 9): a branded supplier's tenants get retention
notices and invitations naming its product, with links to its domain; everyone else gets sfcloud's. And the
colour rule the brand is held to: WCAG 2's contrast ratio."""

from __future__ import annotations

import secrets
import uuid

from services.runtime.tokens import service_principal
from services.tenancy.brand_models import contrast
from services.tenancy.brands import mail_brand
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR
from tests.tenancy.test_retention_mail import mails_to, member, notice
from tests.webapp.mailing import body_of, mail_to


def test_contrast_is_wcag_2s_ratio():
    assert contrast("#000000", "#ffffff") == 21
    assert contrast("#0b5cad", "#0b5cad") == 1
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest grey that passes AA on white


def test_an_unbranded_mail_is_sfcloud_at_the_public_url():
    assert (
        mail_brand(None, "https://app.sfcloud.example/").link("/invite")
        == "https://app.sfcloud.example/invite"
    )


async def test_a_branded_tenants_mails_name_the_product_and_link_to_its_domain(mailing_tenancy, inbox):
    tenancy = mailing_tenancy
    supplier, admin = await tenancy.supplier("Mail brand")
    domain = f"mail-{secrets.token_hex(3)}.brand.test"
    brand = pb.SetBrandRequest(
        product_name="Acme Cloud", primary_colour="#1F3A5F", accent_colour="#0f6e3a", domain=domain
    )
    stored = (await tenancy.call("SetBrand", brand, admin)).brand
    assert (stored.supplier_id, stored.primary_colour, stored.domain) == (supplier.id, "#1f3a5f", domain)
    tenant, owner = await tenancy.tenant(admin, plan="starter")
    owner_email = await member(tenancy, owner, pb.ROLE_OWNER)

    await tenancy.call("NotifyRetention", notice(), service_principal("worker", uuid.UUID(tenant.id)))
    [retention] = mails_to(inbox, {owner_email})
    assert retention["Subject"] == f"Acme Cloud will delete data of {tenant.name} older than 30 days"
    assert f"http://{domain}/" in retention.get_payload(decode=True).decode()

    invited = f"new-{secrets.token_hex(4)}@example.com"
    await tenancy.call("InviteUser", pb.InviteUserRequest(email=invited, role=pb.ROLE_VIEWER), owner)
    [invitation] = mails_to(inbox, {invited})
    assert invitation["Subject"] == f"You are invited to {tenant.name} on Acme Cloud"
    assert f"http://{domain}/invite?token=sfi_" in invitation.get_payload(decode=True).decode()

    plain, plain_owner = await tenancy.tenant(OPERATOR, plan="starter")  # sold directly: sfcloud's brand
    other = f"plain-{secrets.token_hex(4)}@example.com"
    await tenancy.call("InviteUser", pb.InviteUserRequest(email=other, role=pb.ROLE_VIEWER), plain_owner)
    [plain_invitation] = mails_to(inbox, {other})
    assert plain_invitation["Subject"] == f"You are invited to {plain.name} on sfcloud"
    assert "http://sf.test/invite?token=sfi_" in plain_invitation.get_payload(decode=True).decode()


async def test_an_invitation_onto_a_branded_suppliers_staff_names_it_in_its_brand(mailing_tenancy, inbox):
    """InviteSupplierUser by the supplier's admin, with the email of a tenant's member: the invitation names
    the supplier, in its product's name, with the link on its domain."""
    tenancy = mailing_tenancy
    supplier, admin = await tenancy.supplier("Staff brand")
    domain = f"staff-{secrets.token_hex(3)}.brand.test"
    brand = pb.SetBrandRequest(
        product_name="Acme Cloud", primary_colour="#1f3a5f", accent_colour="#0f6e3a", domain=domain
    )
    await tenancy.call("SetBrand", brand, admin)
    _, owner = await tenancy.tenant(OPERATOR, plan="starter")
    email = await member(tenancy, owner, pb.ROLE_VIEWER)
    staff = pb.InviteSupplierUserRequest(supplier_id=supplier.id, email=email, role="admin")
    await tenancy.call("InviteSupplierUser", staff, admin)
    invitation = await mail_to(inbox, email)
    assert invitation["Subject"] == f"You are invited to {supplier.name} on Acme Cloud"
    body = body_of(invitation)
    assert body.startswith(f"You have been invited to join {supplier.name} on Acme Cloud as admin.")
    assert f"http://{domain}/invite?token=sfi_" in body
