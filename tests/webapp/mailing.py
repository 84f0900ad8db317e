"""A gateway whose tenancy mails through the real local SMTP server (tests/mail.py): the web app's flows
that start with an email (a new tenant's owner invitation, branded mails) are followed from the inbox."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from gateway.app import server_config
from services.runtime.settings import ServiceSettings, role_url
from services.tenancy.config import TenancySettings
from services.tenancy.server import TenancyServer
from sf.inprocess import QuietServer, free_port


@dataclasses.dataclass(frozen=True)
class MailingGateway:
    url: str
    port: int


@pytest.fixture(scope="module")
async def mailing_gateway(stack, admin_url, signing_key, inbox) -> MailingGateway:
    """A second tenancy (same database) with SMTP, and a gateway on it; links in its mail point at it. Its
    cookies are not Secure: browsers keep Secure cookies over plain HTTP only from localhost, and the branding
    tests visit it as other hosts (production serves every host over HTTPS)."""
    gateway_port = free_port()
    url = f"http://127.0.0.1:{gateway_port}"
    service = ServiceSettings("tenancy", "127.0.0.1:0", role_url(admin_url, "sf_tenancy", None), signing_key)
    tenancy = TenancyServer(
        TenancySettings(
            service, smtp_url=inbox.url, public_url=url, analytics_target=stack.targets["analytics"]
        )
    )
    tenancy_port = await tenancy.start()
    settings = dataclasses.replace(
        stack.gateway_settings(),
        port=gateway_port,
        tenancy_target=f"127.0.0.1:{tenancy_port}",
        cookie_secure=False,
    )
    gateway = QuietServer(server_config(settings))
    serving = await gateway.start_serving()
    yield MailingGateway(url, gateway_port)
    gateway.should_exit = True
    await serving
    await tenancy.stop()


async def mail_to(inbox, email: str, skip=None):
    """The first message the SMTP server received for ``email`` (waiting a few seconds for it), after
    ``skip`` (one already read) when given."""
    for _ in range(100):
        for message in inbox.messages:
            if message["To"] == email and message is not skip:
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {email} arrived")


def body_of(message) -> str:
    """The message's text, its transfer encoding (quoted-printable) undone."""
    return message.get_payload(decode=True).decode()


def link_in(message, path: str) -> str:
    """The ``path`` link of a message (e.g. ``invite``), whole."""
    return re.search(rf"https?://\S+/{path}\?token=\S+", body_of(message))[0]
