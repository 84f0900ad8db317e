"""A real local SMTP server (aiosmtpd) that keeps what it is sent, and a tenancy service that mails through it."""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from sf.inprocess import free_port
from tests.control_plane import serving_tenancy


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    async def next_link(self, path: str, to: str | None = None) -> str:
        """The token of the newest ``path`` link mailed (to ``to``, if given), waiting a few seconds for it."""
        for _ in range(100):
            for message in reversed(self.messages):
                if to is not None and message["To"] != to:
                    continue
                if found := re.search(rf"http://\S+/{path}\?token=(\S+)", message.get_payload()):
                    self.messages.remove(message)
                    return found.group(1)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail with a /{path} link arrived")


@pytest.fixture(scope="module")
def inbox():
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    yield handler
    controller.stop()


@pytest.fixture
async def mailing_tenancy(admin_url, signing_key, inbox, signer):
    """A tenancy server that sends its mail to the local SMTP server."""
    # its mail outbox is not delivered: tests/support/test_notifications.py runs the tenancy that does
    mailing = {"smtp_url": inbox.url, "public_url": "http://sf.test", "mail_sender": False}
    async with serving_tenancy(admin_url, signer, signing_key, **mailing) as tenancy:
        yield tenancy
