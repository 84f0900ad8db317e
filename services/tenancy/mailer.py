"""Sending the control plane's emails (invitations, password resets, retention notices) through SMTP.

With no `SF_SMTP_URL` (local development) mail is written to the log
instead, so a developer can still follow the links.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib

from services.runtime.errors import Unavailable

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class SmtpMailer:
    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "localhost", parts.port or 25
        self._tls = parts.scheme == "smtps"
        self._login = (parts.username, parts.password) if parts.username else None
        self._sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                use_tls=self._tls,
                username=self._login[0] if self._login else None,
                password=self._login[1] if self._login else None,
                timeout=10,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable("the mail server is unavailable; try again", reason="MAIL_UNAVAILABLE") from exc


class LogMailer:
    """Development stand-in: the message goes to the log, where `sf up` keeps it."""

    async def send(self, to: str, subject: str, body: str) -> None:
        log.info("mail (no SF_SMTP_URL set)", extra={"to": to, "subject": subject, "body": body})
