"""Seed corpora for the atheris targets: valid inputs the fuzzer mutates from."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np

import tscodec
from sfcloud.v1 import ingest_pb2
from tests.codec.fuzzing import seeds as codec_seeds


def ingest_seeds() -> list[bytes]:
    """IngestRequests of plain points, of blocks (every codec seed), of both, and with a series twice."""
    series_id = str(uuid.UUID(int=1))
    ts = 1_796_000_000 * 10**9 + 10**9 * np.arange(50, dtype=np.int64)
    plain = ingest_pb2.SeriesPoints(series_id=series_id, timestamps_ns=ts.tolist(), values=np.sin(ts / 1e10))
    requests = [
        ingest_pb2.IngestRequest(batch_no=1, series=[plain]),
        ingest_pb2.IngestRequest(batch_no=2, series=[plain, plain], session_id=str(uuid.UUID(int=2)), lane=1),
    ]
    own = tscodec.encode(ts, np.round(np.cos(ts / 1e10), 3))
    for blob in [own, *codec_seeds()]:
        block = ingest_pb2.SeriesBlock(series_id=series_id, payload=blob)
        requests.append(ingest_pb2.IngestRequest(batch_no=3, blocks=[block]))
    requests.append(
        ingest_pb2.IngestRequest(
            batch_no=4, series=[plain], blocks=[ingest_pb2.SeriesBlock(series_id=series_id, payload=own)]
        )
    )
    return [r.SerializeToString() for r in requests]


SEEDS = {"codec": codec_seeds, "ingest": ingest_seeds}


def write_corpus(target: str, folder: Path) -> Path:
    """The target's seeds as files in ``folder`` (libFuzzer adds the inputs it finds there too)."""
    folder.mkdir(parents=True, exist_ok=True)
    for data in SEEDS[target]():
        (folder / hashlib.sha1(data, usedforsecurity=False).hexdigest()).write_bytes(data)
    return folder
