"""The report centre: anyone signed in reports suspected misuse of the programme, or a problem with a
supplier, to the platform operator, confidentially.

Only the operator and the reporter ever see a report (row-level security on `tenancy.reports`): the reported
supplier and the reporter's own tenant do not, and filing is audited as a platform event, which only the
operator reads. The operator works each report from received through investigating to closed, closing with
the outcome; each move is kept with its note and audited. A report the caller may not see is NOT_FOUND.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.runtime import keyset
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.principal import Kind, Principal
from services.runtime.transactions import Transactions
from services.runtime.validation import limit_text, parse_id, require_name
from services.tenancy import audit
from services.tenancy.programme_models import CATEGORIES, REPORT_MOVES, REPORT_STATUSES, Report
from services.tenancy.storage import reports as storage

MAX_SUBJECT, MAX_BODY, MAX_NOTE = 200, 10_000, 5_000
MAX_LIST, DEFAULT_LIST = 200, 50


def _person(caller: Principal) -> str:
    """The reporter's identity; reports come from people, never from keys, devices or services."""
    if caller.kind is not Kind.USER:
        raise PermissionDenied("reports are filed by signed-in people", reason="NOT_A_PERSON")
    return f"user:{caller.subject}"


def _organisation(caller: Principal) -> str:
    if caller.tenant_id is not None:
        return f"tenant:{caller.tenant_id}"
    return f"supplier:{caller.supplier_id}" if caller.supplier_id is not None else ""


def _readers(caller: Principal) -> dict[str, str]:
    """The operator reads every report; anyone else their own."""
    return {"app.operator": "on"} if caller.platform_operator else {"app.reporter": _person(caller)}


class ReportCentre:
    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def file(
        self, caller: Principal, category: str, supplier_id: str, subject: str, body: str
    ) -> Report:
        reporter = _person(caller)
        if category not in CATEGORIES:
            raise InvalidArgument.of("category", f"must be one of {', '.join(CATEGORIES)}")
        if category == "supplier" and not supplier_id:
            raise InvalidArgument.of("supplier_id", "a report about a supplier names it")
        supplier = parse_id("supplier_id", supplier_id) if supplier_id else None
        text = require_name("subject", subject, MAX_SUBJECT), require_name("body", body, MAX_BODY)
        now = datetime.now(UTC)
        async with self._db.transaction({"app.reporter": reporter}) as conn:
            name = await storage.supplier_name(conn, supplier) if supplier else ""
            if name is None:
                raise NotFound("supplier not found", reason="SUPPLIER_NOT_FOUND")
            report = Report(
                uuid.uuid4(),
                reporter,
                _organisation(caller),
                category,
                supplier,
                name,
                *text,
                "received",
                "",
                now,
                now,
            )
            await storage.insert(conn, report)
            await audit.record_platform(
                conn, caller, "report.file", target=str(report.id), detail={"category": category}
            )
        return report

    async def list(
        self, caller: Principal, statuses: list[str], limit: int, page_token: str
    ) -> tuple[list[Report], str]:
        """A page, newest first, and the next page's token; the operator's view carries each report's moves."""
        settings = _readers(caller)
        if bad := [s for s in statuses if s not in REPORT_STATUSES]:
            raise InvalidArgument.of("statuses", f"unknown status {bad[0]!r}")
        after = keyset.key_after(page_token, datetime, uuid.UUID)
        size = keyset.page_size(limit, DEFAULT_LIST, MAX_LIST)
        async with self._db.transaction(settings) as conn:
            found, token = keyset.cut(
                await storage.visible(conn, statuses, after, size + 1), size, lambda r: (r.created_at, r.id)
            )
            moves = await storage.history(conn, [r.id for r in found])
        return [replace(r, history=tuple(moves.get(r.id, ()))) for r in found], token

    async def move(self, caller: Principal, report_id: str, status: str, note: str) -> Report:
        """The operator moves a report on; closing records the note as its outcome."""
        caller.require_platform_operator()
        target = parse_id("report_id", report_id)
        if status not in REPORT_STATUSES:
            raise InvalidArgument.of("status", f"must be one of {', '.join(REPORT_STATUSES)}")
        note = limit_text("note", note, MAX_NOTE)
        if status == "closed" and not note:
            raise InvalidArgument.of(
                "note", "closing a report records its outcome here", reason="OUTCOME_REQUIRED"
            )
        async with self._db.transaction(_readers(caller)) as conn:
            report = await storage.get_for_update(conn, target)
            if report is None:
                raise NotFound("report not found", reason="REPORT_NOT_FOUND")
            _check_move(report.status, status)
            outcome = note if status == "closed" else ""
            await storage.move(conn, target, status, outcome)
            await storage.add_event(conn, target, f"user:{caller.subject}", (report.status, status), note)
            await audit.record_platform(
                conn, caller, "report.move", target=str(target), detail={"from": report.status, "to": status}
            )
            moves = await storage.history(conn, [target])
        return replace(
            report, status=status, outcome=outcome, updated_at=datetime.now(UTC), history=tuple(moves[target])
        )


def _check_move(current: str, wanted: str) -> None:
    allowed = REPORT_MOVES[current]
    if wanted not in allowed:
        options = ", ".join(allowed) or "nothing: closed is final"
        raise FailedPrecondition(
            f"a report that is {current} cannot become {wanted}; it can become {options}",
            reason="BAD_TRANSITION",
        )
