"""Anomaly detection for a tenant's machines: fit a machine's model on a reference period, read models and
anomalies. The worker scores (services/worker/anomaly_watch.py); this side decides what is fitted on what.

Points are read through the query engine, so another tenant's machine or series is NOT_FOUND exactly as
for the query RPCs. A model covers the machine's gauge series (states and counters are not signals the
detector models); a gauge that is constant or silent over the reference period is left out with the
reason, and the fit is refused (INVALID_ARGUMENT, ``BadSensorData``) when none is left or the period has
too few rows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from services.analytics.anomaly import BadSensorData, Scorer, fit
from services.analytics.anomaly import storage as anomaly_storage
from services.analytics.anomaly.grid import grid_rows
from services.analytics.anomaly.storage import StoredAnomaly, StoredModel
from services.analytics.anomaly.stored import model_json, state_json
from services.analytics.production.assets import Asset, SeriesInfo
from services.analytics.production.service import CONFIGURERS, AssetCatalog
from services.analytics.service import QueryService, check_range, reader_tenant
from services.runtime import keyset
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.principal import Principal
from services.runtime.transactions import CellTransactions
from services.runtime.validation import parse_id

SECOND_NS = 10**9
DEFAULT_STEP_NS = 10 * SECOND_NS
MAX_STEP_NS = 3600 * SECOND_NS
DEFAULT_REFERENCE_NS = 2 * 86_400 * SECOND_NS  # "the first days of data"
MAX_REFERENCE_NS = 31 * 86_400 * SECOND_NS
CATCH_UP_NS = 86_400 * SECOND_NS  # scoring starts at most a day back from now
MAX_ANOMALIES = 1_000
_PAGE = 100_000


class AnomalyService:
    def __init__(
        self,
        cells: CellTransactions,
        query: QueryService,
        assets: AssetCatalog,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._cells = cells
        self._query = query
        self._assets = assets
        self._clock = clock

    async def train(
        self, caller: Principal, machine_id: str, start_ns: int, end_ns: int, step_ns: int
    ) -> StoredModel:
        """Fit the machine on [start_ns, end_ns) (both 0: its first days of data) and store the model."""
        tenant_id = caller.require_role(*CONFIGURERS)
        machine = await self._machine(tenant_id, machine_id)
        step_ns = _step(step_ns)
        gauges = [s for s in await self._assets.series_of(tenant_id, [machine.id]) if s.kind == "gauge"]
        if not gauges:
            raise BadSensorData.of("machine_id", "the machine has no gauge series to model", "NO_SERIES")
        now_ns = self._clock()
        if start_ns or end_ns:
            check_range(start_ns, end_ns)
        else:
            start_ns = await self._first_point_ns(caller, gauges, now_ns)
            end_ns = min(start_ns + DEFAULT_REFERENCE_NS, now_ns)
            if end_ns <= start_ns:
                raise BadSensorData.of(
                    "reference", "the machine's data starts in the future", "TRAINING_TOO_SHORT"
                )
        if end_ns - start_ns > MAX_REFERENCE_NS:
            raise InvalidArgument.of("reference", "must be at most 31 days", reason="RANGE_TOO_LONG")
        start_ns, end_ns = start_ns - start_ns % step_ns, end_ns - end_ns % step_ns
        points = [await self._points(caller, s.id, start_ns, end_ns) for s in gauges]
        kept, excluded = _usable(gauges, points)
        rows = grid_rows([points[i] for i in kept], step_ns, start_ns, end_ns, np.full(len(kept), np.nan))
        model = fit(rows.values, tuple(str(gauges[i].id) for i in kept))
        stored = StoredModel(
            machine.id,
            [gauges[i].id for i in kept],
            step_ns,
            start_ns,
            end_ns,
            len(rows.values),
            {**model_json(model), "excluded": excluded},
            state_json(Scorer(model), rows.carry, None),
            max(end_ns, now_ns - CATCH_UP_NS - (now_ns - CATCH_UP_NS) % step_ns),
            datetime.fromtimestamp(now_ns / 1e9, UTC),
        )
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            await anomaly_storage.put_model(conn, tenant_id, stored)
        return stored

    async def model(self, caller: Principal, machine_id: str) -> StoredModel:
        tenant_id = reader_tenant(caller)
        machine = parse_id("machine_id", machine_id)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            found = await anomaly_storage.model(conn, machine)
        if found is None:
            raise NotFound(f"machine {machine} has no anomaly model", reason="MODEL_NOT_FOUND")
        return found

    async def anomalies(
        self, caller: Principal, machine_id: str, start_ns: int, end_ns: int, limit: int, page_token: str
    ) -> tuple[list[StoredAnomaly], str]:
        """A page of the anomalies overlapping the range, newest first, and the next page's token."""
        tenant_id = reader_tenant(caller)
        machine = parse_id("machine_id", machine_id) if machine_id else None
        check_range(start_ns, end_ns)
        limit = limit or 100
        if not 1 <= limit <= MAX_ANOMALIES:
            raise InvalidArgument.of("limit", f"must be between 1 and {MAX_ANOMALIES:,}")
        after = keyset.key_after(page_token, int, int)
        async with self._cells.tenant(tenant_id, caller.cell) as conn:
            found = await anomaly_storage.anomalies(conn, machine, start_ns, end_ns, after, limit + 1)
        return keyset.cut(found, limit, lambda a: (a.start_ns, a.id))

    async def _machine(self, tenant_id: uuid.UUID, machine_id: str) -> Asset:
        wanted = parse_id("machine_id", machine_id)
        found = next((a for a in await self._assets.assets(tenant_id) if a.id == wanted), None)
        if found is None or found.kind != "machine":
            raise NotFound(f"machine {wanted} not found", reason="ASSET_NOT_FOUND")
        return found

    async def _first_point_ns(self, caller: Principal, series: list[SeriesInfo], now_ns: int) -> int:
        firsts = []
        for s in series:
            async for page in self._query.stream_points(caller, str(s.id), 0, now_ns, 1):
                firsts.append(int(page.timestamps[0]))
                break
        if not firsts:
            raise BadSensorData.of("reference", "the machine has sent no data yet", "TRAINING_TOO_SHORT")
        return min(firsts)

    async def _points(self, caller: Principal, series_id: uuid.UUID, start_ns: int, end_ns: int):
        pages = [p async for p in self._query.stream_points(caller, str(series_id), start_ns, end_ns, _PAGE)]
        if not pages:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return np.concatenate([p.timestamps for p in pages]), np.concatenate([p.values for p in pages])


def _step(step_ns: int) -> int:
    step_ns = step_ns or DEFAULT_STEP_NS
    if not SECOND_NS <= step_ns <= MAX_STEP_NS:
        raise InvalidArgument.of("step_ns", "must be between 1 s and 1 h")
    return step_ns


def _usable(series: list[SeriesInfo], points: list[tuple[np.ndarray, np.ndarray]]):
    """(indexes of the series the model can use, [{series_id, reason}] for the others)."""
    kept, excluded = [], []
    for i, (s, (_, values)) in enumerate(zip(series, points, strict=True)):
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            excluded.append({"series_id": str(s.id), "reason": "no data in the reference period"})
        elif np.ptp(finite) == 0:
            excluded.append({"series_id": str(s.id), "reason": "constant over the reference period"})
        else:
            kept.append(i)
    if not kept:
        raise BadSensorData.of(
            "reference", "no gauge series of the machine varies over the reference period", "CONSTANT_SERIES"
        )
    return kept, excluded
