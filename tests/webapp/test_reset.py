"""Password reset from the sign-in page (issue 9: sign-in with lockout and password reset): the request
answers the same for any address, the emailed link (the stack's tenancy logs its mail) opens the new-password
form, the new password signs in and the old one no longer does, and a link works once."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from sf.seeding import create_tenant


def sent_token(caplog, email: str, page: str = "reset") -> str:
    """The token of the ``page`` link in the last mail the stack's tenancy logged for ``email`` (it has no
    SMTP server: its mailer logs)."""
    bodies = [r.body for r in caplog.records if getattr(r, "to", None) == email and hasattr(r, "body")]
    assert bodies, f"no mail to {email}"
    return re.search(rf"/{page}\?token=(\S+)", bodies[-1])[1]


async def test_a_forgotten_password_is_reset_through_the_emailed_link(stack, signer, caplog):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Forgetful")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        assert 'href="/reset"' in (await http.get("/login")).text
        with caplog.at_level(logging.INFO, logger="services.tenancy.mailer"):
            known = await http.post("/reset", data={"email": tenant.owner_email})
            unknown = await http.post("/reset", data={"email": "nobody-at-all@nowhere.example"})
        assert known.status_code == unknown.status_code == 200
        assert "a link is on its way" in known.text and known.text == unknown.text  # no account enumeration
        token = sent_token(caplog, tenant.owner_email)

        form = await http.get("/reset", params={"token": token})
        assert 'action="/reset/new"' in form.text and token in form.text
        weak = await http.post("/reset/new", data={"token": token, "password": "short"})
        assert weak.status_code == 400 and "at least 12 characters" in weak.text
        done = await http.post("/reset/new", data={"token": token, "password": "a-brand-new-password-7"})
        assert done.status_code == 200 and "Your password is changed" in done.text
        again = await http.post("/reset/new", data={"token": token, "password": "another-new-password-8"})
        assert again.status_code == 400 and "unknown, used or expired" in again.text

        old = await http.post("/login", data={"email": tenant.owner_email, "password": tenant.owner_password})
        new = await http.post(
            "/login", data={"email": tenant.owner_email, "password": "a-brand-new-password-7"}
        )
        assert (old.status_code, new.status_code) == (401, 303)


@pytest.mark.parametrize("path", ["/reset", "/reset/new"])
async def test_a_reset_form_sent_from_another_site_is_refused(stack, path):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        answer = await http.post(
            path,
            data={"email": "x@y.example", "token": "t", "password": "p" * 12},
            headers={"origin": "https://evil.example"},
        )
    assert answer.status_code == 403 and "another site" in answer.text
