"""Delivering the mail outbox (services/tenancy/notices.py; migration 0014): the actions only add rows, in
their own transaction, and this sender mails them, so an action neither waits on the mail server nor fails
with it, and an outage delays mail without losing it.

Every tenancy process runs one sender (unless `SF_MAIL_SENDER` is off). It is woken at once when this
process adds a row and polls every ``poll_s`` for the rest (rows other processes added, retries). Senders
share the rows by `FOR UPDATE SKIP LOCKED` and a lease: a row being sent is hidden from the others for
``lease_s``, so one whose sender stopped is taken up again, never dropped. At the first attempt the row's
recipients are read (in the scope of the side being mailed) and kept; each address is recorded as it is
sent, so a retry mails only those still owed it. A failed attempt is retried after ``base_s x
2^(attempt - 1)`` seconds, at most ``most_s`` apart, until the row is ``give_up_s`` old; then it is marked
failed with the last error (and logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from services.runtime.errors import ServiceError
from services.runtime.transactions import Transactions
from services.tenancy import notices
from services.tenancy.mailer import Mailer
from services.tenancy.storage import mail_outbox as storage

log = logging.getLogger(__name__)
BATCH = 20
KEEP_SENT_DAYS = 30
PURGE_EVERY_S = 3600
CUSTOMER_ROLES = ("owner", "admin")


@dataclass(frozen=True)
class MailRetry:
    base_s: float = 5.0
    most_s: float = 900.0
    give_up_s: float = 3 * 86_400.0  # an outage longer than this loses the mail (marked failed)
    poll_s: float = 5.0
    lease_s: float = 300.0  # longer than mailing one row's recipients takes (10 s a message)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.base_s * 2 ** (attempt - 1), self.most_s)


class MailOutbox:
    def __init__(
        self, db: Transactions, mailer: Mailer, public_url: str, retry: MailRetry = MailRetry()
    ) -> None:
        self._db = db
        self._mailer = mailer
        self._public_url = public_url.rstrip("/")
        self._retry = retry
        self._due = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._purged = -float(PURGE_EVERY_S)

    def wake(self) -> None:
        """A row was committed: deliver it now rather than at the next poll."""
        self._due.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.deliver_due() == BATCH:
                    continue  # a full batch: more may be due
                await self._purge()
            except ServiceError as exc:  # the database is down: try again at the next poll
                log.warning("mail outbox not read", extra={"error": exc.message})
            except Exception:  # a bug must not stop the mail for good: its rows come back after their lease
                log.exception("mail outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self._retry.poll_s)
            self._due.clear()

    async def _purge(self) -> None:
        if time.monotonic() - self._purged < PURGE_EVERY_S:
            return
        async with self._db.transaction(storage.SENDER) as conn:
            await storage.purge_sent(conn, KEEP_SENT_DAYS)
        self._purged = time.monotonic()

    async def deliver_due(self) -> int:
        """Mail a batch of the rows that are due; how many were taken."""
        async with self._db.transaction(storage.SENDER) as conn:
            rows = await storage.claim_due(conn, BATCH, self._retry.lease_s)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: storage.Pending) -> None:
        try:
            recipients, detail = await self._recipients(row)
            subject, body = notices.render(row.kind, row.audience, detail, self._public_url)
            for address in recipients:
                if address not in row.sent_to:
                    await self._mailer.send(address, subject, body)
                    async with self._db.transaction(storage.SENDER) as conn:
                        await storage.mark_sent_to(conn, row.id, address)
        except ServiceError as exc:
            await self._failed(row, exc.message)
            return
        async with self._db.transaction(storage.SENDER) as conn:
            await storage.finish(conn, row.id)

    async def _failed(self, row: storage.Pending, error: str) -> None:
        age_s = (datetime.now(UTC) - row.created_at).total_seconds()
        async with self._db.transaction(storage.SENDER) as conn:
            if age_s >= self._retry.give_up_s:
                log.warning("mail given up", extra={"outbox_id": row.id, "kind": row.kind, "error": error})
                await storage.give_up(conn, row.id, error)
            else:
                await storage.retry_later(conn, row.id, self._retry.delay(row.attempts), error)

    async def _recipients(self, row: storage.Pending) -> tuple[list[str], dict]:
        """The row's addresses and the detail with both sides' names: read at the first attempt and kept."""
        if row.recipients is not None:
            return row.recipients, row.detail
        async with self._db.transaction({"app.supplier_id": str(row.supplier_id)}) as conn:
            supplier, staff = await storage.supplier_staff(conn, row.supplier_id)
        roles = ("owner",) if row.audience == notices.TENANT_OWNERS else CUSTOMER_ROLES
        opener = row.opener if row.audience == notices.TICKET_CUSTOMER else None
        async with self._db.tenant(row.tenant_id) as conn:
            tenant, people = await storage.tenant_people(conn, row.tenant_id, roles, opener)
        recipients = staff if row.audience == notices.SUPPLIER_STAFF else people
        names = {"tenant": tenant, "supplier": supplier}
        async with self._db.transaction(storage.SENDER) as conn:
            await storage.fix_recipients(conn, row.id, recipients, names)
        return recipients, row.detail | names
