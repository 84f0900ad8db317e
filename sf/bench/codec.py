"""Codec figures: tscodec against pcodec on every numeric SKAB column.

Each column of each CSV is one series (its own blob, header included), with
the file's ``datetime`` column as int64 nanoseconds. pcodec compresses the
timestamps and the values as two standalone blobs, since it has no notion of
a time series; that is how a store would have to use it.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pcodec import ChunkConfig, standalone

import tscodec
from sf.bench.figures import Figure

Series = tuple[np.ndarray, np.ndarray]
REPEATS = 5
SIZE_LEVEL = 8
SPEED_LEVEL = 4


def skab_dir() -> Path:
    """``$SF_SKAB_DIR``, else ``shared/data/skab`` beside the repository."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skab"
    return Path(os.environ.get("SF_SKAB_DIR", default))


def load_series(path: Path) -> dict[str, Series]:
    """Every numeric column of a SKAB CSV as (timestamps in ns, values)."""
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f, delimiter=";"))
    columns = list(zip(*rows, strict=True))
    timestamps = np.array(columns[0], dtype="datetime64[ns]").view(np.int64)
    series = {}
    for name, cells in zip(header[1:], columns[1:], strict=True):
        try:
            series[name] = (timestamps, np.array(cells, dtype=np.float64))
        except ValueError:
            continue  # not a numeric column
    return series


def run() -> dict[str, Figure]:
    """Bytes per point and single-threaded Mpoints/s, pcodec as the baseline."""
    corpus = [s for path in sorted(skab_dir().rglob("*.csv")) for s in load_series(path).values()]
    if not corpus:
        raise FileNotFoundError(f"no SKAB CSV files under {skab_dir()}")
    points = sum(len(ts) for ts, _ in corpus)
    blobs = [tscodec.encode(ts, vs) for ts, vs in corpus]
    _check_roundtrip(corpus, blobs)
    size_config, speed_config = (
        ChunkConfig(compression_level=SIZE_LEVEL),
        ChunkConfig(compression_level=SPEED_LEVEL),
    )
    pco_bytes = sum(len(standalone.simple_compress(a, size_config)) for s in corpus for a in s)
    pco_blobs = [standalone.simple_compress(a, speed_config) for s in corpus for a in s]

    def mpts(work: Callable[[], object]) -> float:
        return points / _best_time(work) / 1e6

    return {
        "codec.skab.bytes_per_point": Figure(
            sum(map(len, blobs)) / points, "bytes/point", baseline=pco_bytes / points
        ),
        "codec.skab.encode_mpts": Figure(
            mpts(lambda: [tscodec.encode(ts, vs) for ts, vs in corpus]),
            "Mpoints/s",
            baseline=mpts(lambda: [standalone.simple_compress(a, speed_config) for s in corpus for a in s]),
            higher_is_better=True,
        ),
        "codec.skab.decode_mpts": Figure(
            mpts(lambda: [tscodec.decode(blob) for blob in blobs]),
            "Mpoints/s",
            baseline=mpts(lambda: [standalone.simple_decompress(blob) for blob in pco_blobs]),
            higher_is_better=True,
        ),
    }


def _check_roundtrip(corpus: list[Series], blobs: list[bytes]) -> None:
    # A speed figure for a codec that loses data would be meaningless.
    for (ts, vs), blob in zip(corpus, blobs, strict=True):
        got_ts, got_vs = tscodec.decode(blob)
        if not (np.array_equal(got_ts, ts) and np.array_equal(got_vs.view(np.uint64), vs.view(np.uint64))):
            raise AssertionError("tscodec did not round-trip a SKAB series")


def _best_time(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best
