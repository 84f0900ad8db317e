"""Every acknowledged batch is stored exactly once: a batch resent after a lost acknowledgement (on a new
stream, the same session) is acknowledged as a duplicate and not stored again; numbers never go backwards."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest

from sfcloud.v1 import ingest_pb2
from tests.e2e.provision import create_tenant, send_batches
from tests.e2e.test_bad_input import batch, stored_points


def numbered(tenant, session: str, numbers: range, base_ns: int) -> list[ingest_pb2.IngestRequest]:
    requests = []
    for n in numbers:
        request = batch(tenant.series_ids[0], [base_ns + n * 10**6], [float(n)], batch_no=n)
        request.session_id = session
        requests.append(request)
    return requests


async def test_a_resent_batch_is_a_duplicate_not_stored_twice(stack, signer, admin_conn):
    """RELIABILITY D3: A batch resent after a lost acknowledgement is a duplicate, not stored twice."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Idempotent")
    session, base = str(uuid.uuid4()), time.time_ns() - 10**12
    first = await send_batches(
        stack.targets["ingest"], tenant.credential, numbered(tenant, session, range(1, 6), base)
    )
    assert [(a.batch_no, a.duplicate) for a in first] == [(n, False) for n in range(1, 6)]
    # the connection dropped before the client saw acks 4 and 5: it resends them and goes on
    again = await send_batches(
        stack.targets["ingest"], tenant.credential, numbered(tenant, session, range(4, 8), base)
    )
    assert [(a.batch_no, a.points_stored, a.duplicate) for a in again] == [
        (4, 0, True),
        (5, 0, True),
        (6, 1, False),
        (7, 1, False),
    ]
    assert stored_points(admin_conn, tenant.id) == 7


async def test_replays_from_two_connections_at_once_store_once(stack, signer, admin_conn):
    """RELIABILITY D3: The same batches replayed from two connections at once are stored once."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Idempotent race")
    session, base = str(uuid.uuid4()), time.time_ns() - 10**12
    requests = numbered(tenant, session, range(1, 51), base)
    results = await asyncio.gather(
        *(send_batches(stack.targets["ingest"], tenant.credential, requests) for _ in range(3))
    )
    assert sum(a.points_stored for acks in results for a in acks) == 50
    assert stored_points(admin_conn, tenant.id) == 50


async def test_a_sessions_batches_arriving_out_of_order_are_each_stored_once(stack, signer, admin_conn):
    """RELIABILITY D3/D7: batches of one session on separate streams arriving out of order (as calls held up
    by a stalled dependency are released together) are each stored once, within the 64 numbers at and below
    the session's highest; resent, each is a duplicate; one 64 or more behind the highest is taken for a
    retry (docs/INGEST.md)."""
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Out of order")
    session, base = str(uuid.uuid4()), time.time_ns() - 10**12

    async def acks(numbers) -> list[tuple[int, int, bool]]:
        sent = [numbered(tenant, session, range(n, n + 1), base)[0] for n in numbers]
        answers = [await send_batches(stack.targets["ingest"], tenant.credential, [r]) for r in sent]
        return [(a.batch_no, a.points_stored, a.duplicate) for (a,) in answers]

    assert await acks([5, 3, 4, 1, 70, 7, 7, 6]) == [
        (5, 1, False),
        (3, 1, False),
        (4, 1, False),
        (1, 1, False),
        (70, 1, False),
        (7, 1, False),  # 63 behind 70: within the window
        (7, 0, True),
        (6, 0, True),  # 64 behind: taken for a retry
    ]
    assert await acks([3, 5, 70]) == [(3, 0, True), (5, 0, True), (70, 0, True)]
    assert stored_points(admin_conn, tenant.id) == 6


async def test_a_batch_number_going_backwards_is_refused(stack, signer, admin_conn):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Backwards")
    session, base = str(uuid.uuid4()), time.time_ns() - 10**12
    requests = numbered(tenant, session, range(5, 7), base) + numbered(tenant, session, range(3, 4), base)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send_batches(stack.targets["ingest"], tenant.credential, requests)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "batch_no: 3 is not after 6" in caught.value.details()
    assert stored_points(admin_conn, tenant.id) == 2


async def test_a_session_id_must_be_a_uuid(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Bad session")
    request = batch(tenant.series_ids[0], [time.time_ns()], [1.0])
    request.session_id = "edge-1"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send_batches(stack.targets["ingest"], tenant.credential, [request])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and caught.value.details().startswith(
        "session_id"
    )
