"""Scoring every fitted machine as its data arrives (docs/ANALYTICS.md, "Anomaly detection").

Every ``interval_s`` one worker per tenant (``t:{tenant}:anomaly:lock``, SET NX PX) scores each of the
tenant's models: the machine's points after the model's ``scored_until_ns`` go on the model's grid
(``grid.grid_rows``, up to the last whole step ending ``LAG_NS`` before now, so batches still in flight
are waited for), are scored by the resumed scorer, and the anomalies they start, carry on or end are
written with the model's new state in one transaction that holds the model's row: a pass repeated after
a crash re-scores nothing, and two workers never score one model at once. Points stored later than
that (more than ``LAG_NS`` late) are not scored, as late points are not evaluated by alarm rules.
A model left unscored for longer than ``CATCH_UP_NS`` resumes from that far back.

Then every anomaly the alarm hook has not heard of is reported to tenancy (``ReportAlarmCondition``,
kind ANOMALY, once per contributing series named at its start: raised at its start, cleared at its
end) and marked, so a report that fails (tenancy down) is made on the next pass; its start and end are
then published on the tenant's anomaly channel for live subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from redis.exceptions import RedisError

from services.analytics.anomaly import storage as models_storage
from services.analytics.anomaly.episodes import follow
from services.analytics.anomaly.grid import grid_rows
from services.analytics.anomaly.storage import StoredAnomaly, StoredModel, anomaly_message
from services.analytics.anomaly.stored import model_from_json, state_from_json, state_json
from services.runtime.cells import CellDatabases
from services.runtime.errors import ServiceError
from services.runtime.keys import anomaly_channel, tenant_key
from services.worker import anomaly_storage
from services.worker.alarm_reporter import AlarmReporter
from services.worker.alarm_storage import points_after
from services.worker.directory import TenancyDirectory
from services.worker.turns import Turns
from sfcloud.v1 import alarms_pb2 as pb

log = logging.getLogger(__name__)

LAG_NS = 30 * 10**9
CATCH_UP_NS = 86_400 * 10**9
LOCK_MS = 60_000


class AnomalyWatch:
    def __init__(
        self,
        redis: Any,
        cells: CellDatabases,
        directory: TenancyDirectory,
        reporter: AlarmReporter,
        interval_s: float,
        holder: str,
    ) -> None:
        self._redis, self._cells, self._directory = redis, cells, directory
        self._reporter, self._interval_s = reporter, interval_s
        self._turns = Turns(redis, holder)
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.score_all()
            except (RedisError, OSError, ServiceError) as exc:
                log.warning("anomaly scoring failed", extra={"error": repr(exc)})
            except Exception:  # a bug: logged, the loop goes on
                log.exception("anomaly scoring failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self._interval_s)

    async def score_all(self, now_ns: int | None = None) -> None:
        for tenant in await self._directory.tenants():
            await self.score_tenant(tenant.tenant_id, tenant.cell, now_ns)

    async def score_tenant(self, tenant_id: uuid.UUID, cell: str, now_ns: int | None = None) -> bool:
        """Score the tenant's models up to ``now_ns`` (default: now) and report; False if another worker
        is at it."""
        async with self._turns.held(tenant_key(tenant_id, "anomaly", "lock"), LOCK_MS) as mine:
            if not mine:
                return False
            async with self._cells.tenant(tenant_id, cell) as conn:
                found = await models_storage.models(conn)
            for stored in found:
                async with self._cells.tenant(tenant_id, cell) as conn:
                    await self._score(conn, tenant_id, stored, now_ns or time.time_ns())
            await self._report(tenant_id, cell)
        return True

    async def _score(self, conn, tenant_id: uuid.UUID, stored: StoredModel, now_ns: int) -> None:
        step = stored.step_ns
        scored_until = await anomaly_storage.lock_model(conn, stored.machine_id)
        until = (now_ns - LAG_NS) // step * step
        if scored_until is None or until <= scored_until:
            return
        after = max(scored_until, until - CATCH_UP_NS // step * step)
        model = model_from_json(stored.model)
        scorer, carry, episode = state_from_json(model, stored.state)
        series = [await points_after(conn, tenant_id, s, after - 1, until - 1) for s in stored.series_ids]
        rows = grid_rows(series, step, after, until, carry)
        if rows.values.size:
            touched = follow(episode, rows.starts, scorer.update(rows.values))
            for e in touched:
                e.id = await anomaly_storage.put_anomaly(
                    conn,
                    tenant_id,
                    e.id,
                    stored.machine_id,
                    (e.start_ns, e.end_ns(step)),
                    [stored.series_ids[j] for j in e.contributing()],
                    e.peak,
                    model.threshold,
                )
            episode = touched[-1] if touched and not touched[-1].ended else None
        state = state_json(scorer, rows.carry if rows.values.size else carry, episode)
        await anomaly_storage.save_progress(conn, stored.machine_id, state, until)

    async def _report(self, tenant_id: uuid.UUID, cell: str) -> None:
        async with self._cells.tenant(tenant_id, cell) as conn:
            pending = await anomaly_storage.unreported(conn)
        for anomaly, raised in pending:
            if not raised:
                await self._tell(tenant_id, anomaly, active=True)
            if anomaly.end_ns is not None:
                await self._tell(tenant_id, anomaly, active=False)
            async with self._cells.tenant(tenant_id, cell) as conn:
                await anomaly_storage.mark_reported(conn, anomaly.id, cleared=anomaly.end_ns is not None)
            await self._announce(tenant_id, anomaly, started=not raised)

    async def _announce(self, tenant_id: uuid.UUID, anomaly: StoredAnomaly, started: bool) -> None:
        """Tell live subscribers (the GraphQL ``anomalies`` subscription); best effort, as alarm changes:
        the anomaly is stored, so a Redis failure loses only the live message."""
        events = (["started"] if started else []) + (["ended"] if anomaly.end_ns is not None else [])
        try:
            for event in events:
                await self._redis.publish(anomaly_channel(tenant_id), anomaly_message(event, anomaly))
        except (RedisError, OSError) as exc:
            log.warning("anomaly publish failed", extra={"error": repr(exc)})

    async def _tell(self, tenant_id: uuid.UUID, anomaly: StoredAnomaly, active: bool) -> None:
        named = ", ".join(str(s) for s in anomaly.series_ids) or "no single series"
        for series_id in anomaly.series_ids:
            await self._reporter.report(
                tenant_id,
                pb.ReportAlarmConditionRequest(
                    series_id=str(series_id),
                    kind=pb.ALARM_RULE_KIND_ANOMALY,
                    time_ns=anomaly.start_ns if active else anomaly.end_ns,
                    active=active,
                    value=anomaly.peak_score,
                    detail=f"anomaly on machine {anomaly.machine_id} from series {named}: score"
                    f" {anomaly.peak_score:.3g} against threshold {anomaly.threshold:.3g}",
                ),
            )
