"""Turning a device's pending samples into the series and blocks of one Ingest batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

import tscodec
from sfcloud.v1 import ingest_pb2

Columns = Mapping[str, tuple[Sequence[int], Sequence[float]]]  # series id → (timestamps ns, values)


def batch_parts(
    columns: Columns, compress: bool
) -> tuple[list[ingest_pb2.SeriesPoints], list[ingest_pb2.SeriesBlock]]:
    """Plain points, or one tscodec block per series (a fraction of the bytes on the wire)."""
    if not compress:
        return [
            ingest_pb2.SeriesPoints(series_id=sid, timestamps_ns=ts, values=vs)
            for sid, (ts, vs) in columns.items()
        ], []
    return [], [
        ingest_pb2.SeriesBlock(series_id=sid, payload=encode(ts, vs)) for sid, (ts, vs) in columns.items()
    ]


def encode(timestamps: Sequence[int], values: Sequence[float]) -> bytes:
    """One block, in time order (the server stores an ordered block as it is, without re-encoding)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    vs = np.asarray(values, dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    return tscodec.encode(ts[order], vs[order])
