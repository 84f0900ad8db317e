"""Tenancy's settings: the shared service settings plus the catalog to load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.config import Env
from services.runtime.settings import ServiceSettings
from services.tenancy.catalog import DEFAULT_CATALOG_DIR
from services.tenancy.mail_outbox import MailRetry
from services.tenancy.models import SignInLimits

PORT = 50053


@dataclass(frozen=True)
class TenancySettings:
    service: ServiceSettings
    catalog_dir: Path = DEFAULT_CATALOG_DIR
    load_demo: bool = False
    smtp_url: str | None = None
    mail_from: str = "sfcloud <no-reply@sfcloud.local>"
    public_url: str = "http://localhost:8000"
    alarm_flap_count: int = 5  # a rule raising and clearing more often than this within the window flaps
    alarm_flap_window_s: float = 600.0
    analytics_target: str = "127.0.0.1:50052"  # asked for device telemetry when a ticket is opened
    mail_sender: bool = True  # this process delivers the mail outbox (services/tenancy/mail_outbox.py)
    mail_retry: MailRetry = field(default_factory=MailRetry)
    sign_in: SignInLimits = field(default_factory=SignInLimits)

    @classmethod
    def from_env(cls, env: Env | None = None) -> TenancySettings:
        env = env or Env()
        return cls(
            service=ServiceSettings.from_env("tenancy", PORT, env),
            catalog_dir=Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))),
            load_demo=env.bool("SF_LOAD_DEMO", False),
            smtp_url=env.optional("SF_SMTP_URL") and env.url("SF_SMTP_URL", ("smtp", "smtps")),
            mail_from=env.str("SF_MAIL_FROM", "sfcloud <no-reply@sfcloud.local>"),
            public_url=env.url("SF_PUBLIC_URL", ("http", "https"), "http://localhost:8000"),
            alarm_flap_count=env.int("SF_ALARM_FLAP_COUNT", 5, minimum=1, maximum=1000),
            alarm_flap_window_s=env.int("SF_ALARM_FLAP_WINDOW_S", 600, minimum=10, maximum=86_400),
            analytics_target=env.str("SF_ANALYTICS_TARGET", "127.0.0.1:50052"),
            mail_sender=env.bool("SF_MAIL_SENDER", True),
            mail_retry=MailRetry(
                base_s=env.int("SF_MAIL_RETRY_BASE_S", 5, minimum=1, maximum=3600),
                give_up_s=env.int("SF_MAIL_GIVE_UP_S", 3 * 86_400, minimum=60, maximum=30 * 86_400),
            ),
            sign_in=SignInLimits(
                failures=env.int("SF_LOGIN_FAILURES", 10, minimum=1, maximum=1000),
                lock_s=env.int("SF_LOGIN_LOCK_S", 900, minimum=1, maximum=86_400),
                ceiling=env.int("SF_LOGIN_CEILING", 100, minimum=1, maximum=10_000),
                window_s=env.int("SF_LOGIN_CEILING_WINDOW_S", 3600, minimum=1, maximum=7 * 86_400),
            ),
        )
