"""Accepting an invitation from its emailed link: a new person names themselves and chooses a password, joins
the tenant with the invited role and signs in; an invitation works once; an address that already has an
account must give that account's password; one onto a supplier's staff leads to the supplier portal."""

from __future__ import annotations

import logging
import uuid

import httpx

from sf.seeding import create_tenant
from tests.e2e.provision import GraphQLClient
from tests.support.helpers import data, owner_client, supplier, supplier_user
from tests.webapp.test_reset import sent_token

INVITE_STAFF = (
    "mutation($email: String!) { inviteStaff(email: $email, role: STAFF) { invitationId errors { code } } }"
)
INVITE = (
    "mutation($email: String!) { inviteUser(email: $email, role: OPERATOR) { invitationId errors { code } } }"
)


async def invite(stack, tenant, email: str, caplog) -> str:
    owner = await owner_client(stack, tenant)
    try:
        with caplog.at_level(logging.INFO, logger="services.tenancy.mailer"):
            sent = data(await owner.query(INVITE, email=email))["inviteUser"]
    finally:
        await owner.close()
    assert sent["errors"] == []
    return sent_token(caplog, email, "invite")


async def test_a_new_person_joins_from_the_invitation_and_signs_in(stack, signer, caplog):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Inviting")
    email = f"new-{uuid.uuid4().hex[:8]}@sme.example"
    token = await invite(stack, tenant, email, caplog)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        page = await http.get("/invite", params={"token": token})
        assert 'action="/invite"' in page.text and token in page.text
        weak = await http.post("/invite", data={"token": token, "display_name": "Min", "password": "short"})
        assert weak.status_code == 400 and "at least 12 characters" in weak.text
        joined = await http.post(
            "/invite", data={"token": token, "display_name": "Min", "password": "a-good-long-password-1"}
        )
        assert joined.status_code == 200 and "You have joined" in joined.text
        again = await http.post(
            "/invite", data={"token": token, "display_name": "Min", "password": "a-good-long-password-1"}
        )
        assert again.status_code == 400 and "unknown, used or expired" in again.text
        signed_in = await http.post("/login", data={"email": email, "password": "a-good-long-password-1"})
        assert signed_in.status_code == 303
        session = await http.get(
            "/api/session", headers={"cookie": signed_in.headers["set-cookie"].split(";")[0]}
        )
        assert session.json()["role"] == "operator" and session.json()["displayName"] == "Min"


async def test_an_existing_account_joins_with_its_own_password_only(stack, signer, caplog):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Inviting an existing one")
    other = await create_tenant(stack.targets["tenancy"], signer, "Where the person is already")
    token = await invite(stack, tenant, other.owner_email, caplog)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        wrong = await http.post("/invite", data={"token": token, "password": "not-their-password-1"})
        assert wrong.status_code == 403 and "already has an account" in wrong.text
        joined = await http.post("/invite", data={"token": token, "password": other.owner_password})
        assert joined.status_code == 200 and "You have joined" in joined.text


async def test_an_account_joins_a_suppliers_staff_and_signs_in_to_its_portal(stack, signer, caplog):
    """A tenant's owner invited onto a supplier's staff (GraphQL `inviteStaff` by the supplier's admin; its
    staff may not) accepts with their own password and is asked to sign in on the way to the supplier portal,
    which that sign-in opens; signing in without going there opens their tenant, as before."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Where the engineer works")
    admin = await supplier(stack, signer, "Hiring SI")
    staff = await GraphQLClient.login(
        stack.gateway_url, *await supplier_user(stack, signer, admin.id, "staff")
    )
    try:
        refused = (await staff.query(INVITE_STAFF, email=tenant.owner_email))["errors"][0]["extensions"]
        with caplog.at_level(logging.INFO, logger="services.tenancy.mailer"):
            sent = data(await admin.client.query(INVITE_STAFF, email=tenant.owner_email))["inviteStaff"]
    finally:
        await staff.close()
        await admin.client.close()
    assert refused == {"code": "FORBIDDEN", "reason": "NOT_ADMIN"}
    assert sent["invitationId"] and sent["errors"] == []
    token = sent_token(caplog, tenant.owner_email, "invite")
    signing_in = {"email": tenant.owner_email, "password": tenant.owner_password}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        joined = await http.post("/invite", data={"token": token, "password": tenant.owner_password})
        assert (
            joined.status_code == 200 and '<input type="hidden" name="next" value="/supplier">' in joined.text
        )
        to_portal = await http.post("/login", data=signing_in | {"next": "/supplier"})
        assert to_portal.headers["location"] == "/supplier"
        portal = await http.get("/supplier", headers=_cookie_of(to_portal))
        home = await http.post("/login", data=signing_in)
        session = await http.get("/api/session", headers=_cookie_of(home))
    assert portal.status_code == 200 and home.headers["location"] == "/"
    assert session.json()["role"] == "owner"


def _cookie_of(signed_in: httpx.Response) -> dict[str, str]:
    return {"cookie": signed_in.headers["set-cookie"].split(";")[0]}
