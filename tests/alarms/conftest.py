"""Fixtures of the alarm tests: a tenancy mailing through a real local SMTP server (tests/mail.py) and a
worker evaluating alarms through it, beside the shared stack (same PostgreSQL and Redis)."""

from __future__ import annotations

import dataclasses

import pytest

from services.runtime.settings import ServiceSettings, role_url
from services.tenancy.config import TenancySettings
from services.tenancy.server import TenancyServer
from services.worker.server import WorkerServer

RETRY_BASE_S = 0.2
ATTEMPTS = 4
ABANDONED_S = 3  # longer than a delivery's retries here (0.2 + 0.4 + 0.8 s and four answers)


@pytest.fixture(scope="module")
async def alarm_stack(stack, admin_url, signing_key, inbox):
    """A tenancy that mails through the local SMTP server, and a worker evaluating alarms through it."""
    service = ServiceSettings("tenancy", "127.0.0.1:0", role_url(admin_url, "sf_tenancy", None), signing_key)
    mailing = TenancySettings(service, smtp_url=inbox.url, public_url="http://sf.test", mail_sender=False)
    tenancy = TenancyServer(mailing)  # the mail outbox is tests/support/test_notifications.py's to deliver
    target = f"127.0.0.1:{await tenancy.start()}"
    settings = dataclasses.replace(
        stack.worker_settings("alarms-e2e"),
        tenancy_target=target,
        alarm_interval_s=1,
        alarm_tick_s=0.1,
        alarm_retry_base_s=RETRY_BASE_S,
        alarm_attempts=ATTEMPTS,
        alarm_abandoned_s=ABANDONED_S,
        alarm_private_webhooks=True,  # the tests' receivers listen on 127.0.0.1
    )
    worker = WorkerServer(settings)
    await worker.start()
    yield target
    await worker.stop()
    await tenancy.stop()
