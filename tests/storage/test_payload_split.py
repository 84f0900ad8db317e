"""A block's payload split at whole TOAST chunks (migration 0018): the chunks out of line and packed four
to a TOAST page, the rest in the row, and every byte read back as it was written."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import pytest
from psycopg import sql

from services.ingest import partitions
from services.runtime.blocks import BLOCK_SPAN_NS, INSERT, TOAST_CHUNK, encode_block, insert_params

WEEK_1980_NS = partitions.week_start_ns(10 * 365 * 86400 * 10**9)
HOURS = 160


def an_hour(hour: int) -> tuple[np.ndarray, np.ndarray]:
    """An hour at 1 Hz of a sensor with 2 decimals: about 2.8 KB encoded, one and a half TOAST chunks."""
    rng = np.random.default_rng(hour)
    timestamps = WEEK_1980_NS + hour * BLOCK_SPAN_NS + np.arange(3600, dtype=np.int64) * 10**9
    return timestamps, np.round(60 + np.cumsum(rng.normal(0, 0.02, 3600)) + rng.normal(0, 0.1, 3600), 2)


def test_the_chunk_size_is_the_servers(admin_conn):
    assert (
        admin_conn.execute("SELECT max_toast_chunk_size FROM pg_control_init()").fetchone()[0] == TOAST_CHUNK
    )


@pytest.mark.parametrize("size", [0, 1, TOAST_CHUNK - 1, TOAST_CHUNK, TOAST_CHUNK + 1, 3 * TOAST_CHUNK + 7])
def test_the_split_is_whole_chunks_then_the_rest(size):
    one_point = encode_block(uuid.uuid4(), np.array([0], np.int64), np.array([1.0]))
    block = dataclasses.replace(one_point, payload=(bytes(range(256)) * 50)[:size])
    assert len(block.payload_chunks) % TOAST_CHUNK == 0 and len(block.payload_rest) < TOAST_CHUNK
    assert block.payload_chunks + block.payload_rest == block.payload


@pytest.fixture
def week_1980(admin_conn):
    """A week partition of its own, made the way every new week is, dropped afterwards."""
    partitions.ensure(admin_conn, WEEK_1980_NS, WEEK_1980_NS)
    name = partitions.partition_name(WEEK_1980_NS)
    yield name
    admin_conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(*name.split("."))))


def test_new_weeks_store_the_chunks_out_of_line_and_the_rest_in_the_row(admin_conn, week_1980):
    storage = dict(
        admin_conn.execute(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attname IN ('payload_chunks', 'payload_rest')",
            [week_1980],
        ).fetchall()
    )
    assert storage == {"payload_chunks": "e", "payload_rest": "m"}


def test_toast_holds_only_full_chunks_packed_four_to_a_page(admin_conn, week_1980):
    tenant_id, series_id = uuid.uuid4(), uuid.uuid4()
    blocks = [encode_block(series_id, *an_hour(hour)) for hour in range(HOURS)]
    assert all(TOAST_CHUNK < len(b.payload) < 2 * TOAST_CHUNK for b in blocks)
    admin_conn.execute(INSERT, insert_params(tenant_id, blocks))

    toast = admin_conn.execute(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = %s::regclass", [week_1980]
    ).fetchone()[0]
    chunks, partial = admin_conn.execute(
        sql.SQL("SELECT count(*), count(*) FILTER (WHERE octet_length(chunk_data) <> %s) FROM {}").format(
            sql.Identifier(*toast.split("."))
        ),
        [TOAST_CHUNK],
    ).fetchone()
    assert (chunks, partial) == (HOURS, 0)  # one full chunk per block, its rest stayed in the row
    pages = admin_conn.execute("SELECT pg_relation_size(%s::regclass) / 8192", [toast]).fetchone()[0]
    assert pages == -(-chunks // 4)

    stored = admin_conn.execute(
        "SELECT payload_chunks || payload_rest FROM telemetry.blocks WHERE series_id = %s ORDER BY start_ns",
        [series_id],
    ).fetchall()
    assert [bytes(p) for (p,) in stored] == [b.payload for b in blocks]
