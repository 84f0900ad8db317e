"""Mailing a tenant's owners and admins that retention will delete some of its data within the week.

Only the worker asks (the service `worker`, with a token scoped to the tenant: the tenant comes from the
verified token). Each notice (its ``notice_ns``) is mailed once: the sending is recorded in the audit log
after the SMTP server accepted the messages, and a notice found there is not sent again, so the worker
may retry a call whose answer it lost. A double mail needs this service to stop between the SMTP
server's acceptance and that record; if the mail server refuses one recipient, the retry resends to all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal
from services.runtime.transactions import Transactions
from services.tenancy import audit
from services.tenancy.brands import MailBrand, mail_brand_of_tenant
from services.tenancy.mailer import Mailer
from services.tenancy.storage import retention as storage

MAX_RETENTION_DAYS = 36_500


@dataclass(frozen=True)
class RetentionNotice:
    notice_ns: int
    deletes_before_ns: int
    oldest_end_ns: int
    retention_days: int
    effective_ns: int

    def check(self) -> None:
        if self.notice_ns <= 0:
            raise InvalidArgument.of("notice_ns", "must be a time after 1970 (ns)")
        if not 0 <= self.oldest_end_ns < self.deletes_before_ns:
            raise InvalidArgument.of("oldest_end_ns", "must be at least 0 and before deletes_before_ns")
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise InvalidArgument.of("retention_days", f"must be 1 to {MAX_RETENTION_DAYS:,}")
        if self.effective_ns < self.notice_ns:
            raise InvalidArgument.of("effective_ns", "must not be before notice_ns")


class RetentionMail:
    def __init__(self, db: Transactions, mailer: Mailer, public_url: str) -> None:
        self._db = db
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")

    async def notify(self, caller: Principal, notice: RetentionNotice) -> tuple[int, bool]:
        """(recipients mailed, already sent before)."""
        caller.require_service("worker")
        tenant_id = caller.require_tenant()
        notice.check()
        notice_id = str(notice.notice_ns)
        async with self._db.tenant(tenant_id) as conn:
            if await storage.already_mailed(conn, tenant_id, notice_id):
                return 0, True
            names = await storage.tenant_and_plan(conn, tenant_id)
            recipients = await storage.manager_emails(conn, tenant_id)
            brand = await mail_brand_of_tenant(conn, tenant_id, self._public_url)
        if names is None:
            raise NotFound("tenant not found", reason="TENANT_NOT_FOUND")
        subject = f"{brand.product} will delete data of {names[0]} older than {notice.retention_days} days"
        body = notice_body(names[0], names[1], notice, brand)
        for email in recipients:
            await self._mailer.send(email, subject, body)
        async with self._db.tenant(tenant_id) as conn:
            await audit.record(
                conn,
                caller,
                storage.ACTION,
                target=notice_id,
                detail={"recipients": len(recipients), "retention_days": notice.retention_days},
            )
        return len(recipients), False


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M UTC")


def notice_body(tenant: str, plan: str, notice: RetentionNotice, brand: MailBrand) -> str:
    return (
        f"The plan of {tenant} on {brand.product}, {plan}, keeps telemetry for {notice.retention_days} days.\n\n"
        f"Within the coming week {brand.product} will delete the data recorded before {_day(notice.deletes_before_ns)}"
        f" (the oldest stored data ends at {_day(notice.oldest_end_ns)}). Nothing of it is deleted before"
        f" {_day(notice.effective_ns)}; after that, data older than {notice.retention_days} days is deleted"
        " every hour.\n\n"
        "To keep it:\n"
        f"- move to a plan that keeps data longer (ask your supplier or the {brand.product} operator): a longer"
        " retention stops the deletion at once;\n"
        "- or export the data before then, through the GraphQL API (the points query) with an API key.\n\n"
        f"The notice is also shown in the web app: {brand.link('/')}\n"
        "You receive this email as an owner or admin of the tenant."
    )
