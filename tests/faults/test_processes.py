"""`sf serve ingest` as a real process: killed with -9 and restarted, it keeps everything it acknowledged."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from sf.inprocess import free_port
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch, stored_points
from tests.faults.processes import ServiceProcess, ServiceProcessError, ingest_env

pytestmark = pytest.mark.slow


def numbered(series_id: str, session: str, batch_no: int, base_ns: int):
    request = batch(series_id, [base_ns + batch_no * 10**6], [float(batch_no)], batch_no=batch_no)
    request.session_id = session
    return request


async def test_ingest_killed_with_9_restarts_on_its_port_and_keeps_what_it_acked(
    stack, signer, admin_conn, tmp_path
):
    """RELIABILITY D1: kill -9 of `sf serve ingest`: restarted, it keeps every batch it acknowledged."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Crash")
    session, base, series = str(uuid.uuid4()), time.time_ns() - 10**12, tenant.series_ids[0]
    async with ServiceProcess("ingest", ingest_env(stack), free_port(), log_dir=tmp_path) as ingest:
        first = await send_batches(ingest.target, tenant.credential, [numbered(series, session, 1, base)])
        assert [(a.batch_no, a.duplicate) for a in first] == [(1, False)]
        assert await ingest.kill() == -signal.SIGKILL
        await ingest.restart()
        again = [numbered(series, session, n, base) for n in (1, 2)]
        acks = await send_batches(ingest.target, tenant.credential, again)
        assert [(a.batch_no, a.duplicate) for a in acks] == [(1, True), (2, False)]
        assert await ingest.terminate() == 0
    assert stored_points(admin_conn, tenant.id) == 2


async def test_a_service_that_cannot_start_says_why(tmp_path):
    env = {"SF_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "SF_REDIS_URL": "redis://127.0.0.1:1"}
    ingest = ServiceProcess("ingest", env, free_port(), log_dir=tmp_path)
    with pytest.raises(ServiceProcessError, match="SF_SIGNING_KEY is not set") as caught:
        await ingest.start(within=10)
    assert "exited with 2" in str(caught.value) and not ingest.running
