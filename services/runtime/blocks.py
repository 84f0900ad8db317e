"""Telemetry block rows, and the one layout rule every service reading or writing them relies on.

A block row holds one series' points as a tscodec payload, with the header statistics stored beside it;
ingest (a batch) and the worker (compaction) make rows the same way, here. A block lies within one UTC
hour: ingest splits a batch at hour boundaries and compaction merges within an hour, so a block never
crosses a weekly partition either. Readers use the rule to bound a range scan from below: the blocks
that overlap ``[lo, hi)`` all start after ``lo - BLOCK_SPAN_NS``, which lets PostgreSQL skip older
partitions and index entries.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import numpy as np

import tscodec

BLOCK_SPAN_NS = 3600 * 10**9

# PostgreSQL cuts an out-of-line value into chunks of this many bytes (TOAST_MAX_CHUNK_SIZE for 8 KB pages,
# `SELECT max_toast_chunk_size FROM pg_control_init()`). A payload is stored as its longest prefix of whole
# chunks (``payload_chunks``, out of line) and the rest (``payload_rest``, in the row): full chunks pack
# TOAST pages four to a page, where a trailing part chunk after each payload left pages a fifth empty
# (migration 0018). Readers select ``payload_chunks || payload_rest``.
TOAST_CHUNK = 1996


@dataclass(frozen=True)
class Block:
    series_id: uuid.UUID
    start_ns: int
    end_ns: int
    count: int
    min_value: float
    max_value: float
    sum_value: float
    first_value: float
    last_value: float
    payload: bytes
    nan_count: int

    @property
    def payload_chunks(self) -> bytes:
        return self.payload[: len(self.payload) // TOAST_CHUNK * TOAST_CHUNK]

    @property
    def payload_rest(self) -> bytes:
        return self.payload[len(self.payload) // TOAST_CHUNK * TOAST_CHUNK :]


# The columns a writer fills (``Block`` attributes of the same names), with their PostgreSQL array types.
COLUMNS = {
    "series_id": "uuid", "start_ns": "bigint", "end_ns": "bigint", "count": "int", "min_value": "float8",
    "max_value": "float8", "sum_value": "float8", "first_value": "float8", "last_value": "float8",
    "payload_chunks": "bytea", "payload_rest": "bytea", "nan_count": "int",
}  # fmt: skip


def insert_sql(tenant: str, arrays: list[str]) -> str:
    """An INSERT of blocks from one array parameter per column (placeholders ``arrays``, in ``COLUMNS``
    order) for the tenant placeholder ``tenant``: one statement, however many blocks."""
    unnest = ", ".join(f"{a}::{t}[]" for a, t in zip(arrays, COLUMNS.values(), strict=True))
    return (
        f"INSERT INTO telemetry.blocks (tenant_id, {', '.join(COLUMNS)})"  # noqa: S608 (constant names)
        f" SELECT {tenant}, * FROM unnest({unnest})"
    )


INSERT = insert_sql("%s", ["%s"] * len(COLUMNS))


def insert_params(tenant_id: uuid.UUID, blocks: list[Block]) -> list:
    """The parameters of ``INSERT`` for ``blocks`` of one tenant."""
    return [tenant_id, *column_arrays(blocks)]


def column_arrays(blocks: list[Block]) -> list[list]:
    return [[getattr(b, name) for b in blocks] for name in COLUMNS]


def encode_block(
    series_id: uuid.UUID, timestamps: np.ndarray, values: np.ndarray, payload: bytes | None = None
) -> Block:
    """The row of one series' points (``payload`` when it is already their encoding); stats from its header."""
    payload = payload or tscodec.encode(timestamps, values)
    stats = tscodec.stats(payload)
    return Block(
        series_id=series_id,
        start_ns=stats.min_ts,
        end_ns=stats.max_ts,
        count=stats.count,
        min_value=stats.min,
        max_value=stats.max,
        sum_value=stats.sum,
        first_value=stats.first,
        last_value=stats.last,
        payload=payload,
        nan_count=stats.nan_count,
    )


def hour_runs(timestamps: np.ndarray) -> list[slice]:
    """The slices of sorted ``timestamps`` that fall in one UTC hour each, in order."""
    if timestamps.size and timestamps[0] // BLOCK_SPAN_NS == timestamps[-1] // BLOCK_SPAN_NS:
        return [slice(0, timestamps.size)]  # the usual case, told by the ends alone
    hours = np.floor_divide(timestamps, BLOCK_SPAN_NS)
    edges = np.flatnonzero(np.diff(hours)) + 1
    bounds = [0, *edges.tolist(), timestamps.size]
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]
