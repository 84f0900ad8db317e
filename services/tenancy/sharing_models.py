"""Data-sharing grants and the rule that decides one read under a grant (docs/SHARING.md).

A read passes when the grant is live (not revoked, not expired), names the series, covers the asked time
range, and the read is no finer than the grant's level: a minute or hour grant lets through only buckets
that are whole multiples of its level over a range that starts and ends on its level, so no answer can be
combined with another into anything finer. A raw grant lets through raw points and any aggregate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.runtime.errors import NotFound, PermissionDenied

MINUTE_NS, HOUR_NS = 60 * 10**9, 3600 * 10**9
LEVEL_NS = {"raw": 0, "1m": MINUTE_NS, "1h": HOUR_NS}
LEVEL_NAMES = {"raw": "raw points", "1m": "1-minute aggregates", "1h": "1-hour aggregates"}
TENANT, SUPPLIER = "tenant", "supplier"


@dataclass(frozen=True)
class Grant:
    id: uuid.UUID
    tenant_id: uuid.UUID  # the grantor
    grantor_name: str
    grantee_tenant_id: uuid.UUID | None
    grantee_supplier_id: uuid.UUID | None
    grantee_name: str
    grantee_partner: bool
    series_ids: list[uuid.UUID]
    series_labels: list[dict]  # {"id", "name", "unit", "machine"} as the grantor's catalog had them
    start_ns: int
    end_ns: int
    granularity: str
    purpose: str
    expires_at: datetime
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def grantee(self) -> tuple[str, uuid.UUID]:
        if self.grantee_tenant_id is not None:
            return TENANT, self.grantee_tenant_id
        return SUPPLIER, self.grantee_supplier_id

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    def check_read(self, series: uuid.UUID, start_ns: int, end_ns: int, resolution_ns: int) -> None:
        """Raises unless a read of ``series`` over [start_ns, end_ns) at ``resolution_ns`` (0: raw) is
        within this grant."""
        self.check_live(datetime.now(UTC))
        if series not in self.series_ids:
            raise NotFound(f"series {series} is not shared by grant {self.id}", reason="SERIES_NOT_SHARED")
        if start_ns < self.start_ns or end_ns > self.end_ns:
            raise PermissionDenied(
                f"grant {self.id} shares {_when(self.start_ns)} to {_when(self.end_ns)} only",
                reason="OUTSIDE_GRANT_RANGE",
            )
        self._check_level(start_ns, end_ns, resolution_ns)

    def check_live(self, now: datetime) -> None:
        if self.revoked_at is not None:
            raise PermissionDenied(
                f"grant {self.id} was revoked at {self.revoked_at.isoformat()}", reason="GRANT_REVOKED"
            )
        if self.expires_at <= now:
            raise PermissionDenied(
                f"grant {self.id} expired at {self.expires_at.isoformat()}", reason="GRANT_EXPIRED"
            )

    def _check_level(self, start_ns: int, end_ns: int, resolution_ns: int) -> None:
        level = LEVEL_NS[self.granularity]
        if not level:
            return
        unit = "minute" if level == MINUTE_NS else "hour"
        if resolution_ns == 0:
            refusal = f"it shares {LEVEL_NAMES[self.granularity]}: raw points are refused"
        elif resolution_ns % level:
            refusal = f"buckets must be whole multiples of one {unit}"
        elif start_ns % level or end_ns % level:
            refusal = f"the range must start and end on a whole {unit}"
        else:
            return
        raise PermissionDenied(f"grant {self.id}: {refusal}", reason="FINER_THAN_GRANT")


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()
