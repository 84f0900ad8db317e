"""Codec figures: tscodec beside pcodec (levels 8 and 4) and zstd-3 on every corpus.

Each series of a corpus (``codec_corpus``) is compressed on its own, timestamps
and values together, blob headers included. pcodec and zstd have no notion of
a time series, so they compress the timestamps and the values as two
standalone blobs, which is how a store would have to use them. Speeds are
single-threaded million points per second over the whole corpus, called from
Python one series at a time, best of ``REPEATS`` runs.

Figures per corpus ``c`` (``skab``, ``states``, ``counters``):
``codec.c.bytes_per_point`` (baseline pcodec level 8), ``codec.c.encode_mpts``
and ``codec.c.decode_mpts`` (baseline pcodec level 4), and the other methods'
own figures beside them: ``codec.c.pcodec8.*``, ``codec.c.pcodec4.*``,
``codec.c.zstd3.*``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pcodec import ChunkConfig, standalone

import tscodec
from sf.bench.codec_corpus import CORPORA, Series, load_series, skab_dir
from sf.bench.figures import Figure

__all__ = ["load_series", "run", "skab_dir"]
REPEATS = 5


@dataclass(frozen=True)
class Method:
    """How one codec turns a series into blobs and back."""

    encode: Callable[[np.ndarray, np.ndarray], object]
    decode: Callable[[object], object]
    size: Callable[[object], int]


def _pcodec(level: int) -> Method:
    config = ChunkConfig(compression_level=level)
    return Method(
        encode=lambda ts, vs: (
            standalone.simple_compress(ts, config),
            standalone.simple_compress(vs, config),
        ),
        decode=lambda blobs: (standalone.simple_decompress(blobs[0]), standalone.simple_decompress(blobs[1])),
        size=lambda blobs: len(blobs[0]) + len(blobs[1]),
    )


def _zstd(level: int) -> Method:
    import zstandard  # a dev dependency; only the codec figures need it

    compressor, decompressor = zstandard.ZstdCompressor(level=level), zstandard.ZstdDecompressor()
    return Method(
        encode=lambda ts, vs: (compressor.compress(ts.tobytes()), compressor.compress(vs.tobytes())),
        decode=lambda blobs: (
            np.frombuffer(decompressor.decompress(blobs[0]), np.int64),
            np.frombuffer(decompressor.decompress(blobs[1]), np.float64),
        ),
        size=lambda blobs: len(blobs[0]) + len(blobs[1]),
    )


TSCODEC = Method(encode=tscodec.encode, decode=tscodec.decode, size=len)


def others() -> dict[str, Method]:
    """The methods measured beside tscodec; zstd-3 only where the zstandard package is installed."""
    methods = {"pcodec8": _pcodec(8), "pcodec4": _pcodec(4)}
    try:
        methods["zstd3"] = _zstd(3)
    except ImportError:
        print("codec figures: zstandard is not installed, so no zstd-3 figures", file=sys.stderr)
    return methods


@dataclass(frozen=True)
class Measured:
    bytes_per_point: float
    encode_mpts: float
    decode_mpts: float


def measure(method: Method, corpus: list[Series], points: int) -> Measured:
    """Size and speeds of one method on a corpus, after checking it round-trips every series."""
    blobs = [method.encode(ts, vs) for ts, vs in corpus]
    _check_roundtrip(method, corpus, blobs)
    encode_s = _best_time(lambda: [method.encode(ts, vs) for ts, vs in corpus])
    decode_s = _best_time(lambda: [method.decode(blob) for blob in blobs])
    return Measured(sum(map(method.size, blobs)) / points, points / encode_s / 1e6, points / decode_s / 1e6)


def run() -> dict[str, Figure]:
    """The figures of every corpus, each method measured in this run."""
    figures: dict[str, Figure] = {}
    for name, load in CORPORA.items():
        corpus = load()
        figures.update(corpus_figures(name, corpus))
    return figures


def corpus_figures(name: str, corpus: list[Series]) -> dict[str, Figure]:
    points = sum(len(ts) for ts, _ in corpus)
    ours = measure(TSCODEC, corpus, points)
    measured = {key: measure(method, corpus, points) for key, method in others().items()}
    size, speed = measured["pcodec8"], measured["pcodec4"]
    figures = {
        f"codec.{name}.bytes_per_point": Figure(
            ours.bytes_per_point, "bytes/point", baseline=size.bytes_per_point
        ),
        f"codec.{name}.encode_mpts": Figure(ours.encode_mpts, "Mpoints/s", speed.encode_mpts, True),
        f"codec.{name}.decode_mpts": Figure(ours.decode_mpts, "Mpoints/s", speed.decode_mpts, True),
    }
    for key, got in measured.items():
        figures[f"codec.{name}.{key}.bytes_per_point"] = Figure(got.bytes_per_point, "bytes/point")
        figures[f"codec.{name}.{key}.encode_mpts"] = Figure(
            got.encode_mpts, "Mpoints/s", higher_is_better=True
        )
        figures[f"codec.{name}.{key}.decode_mpts"] = Figure(
            got.decode_mpts, "Mpoints/s", higher_is_better=True
        )
    return figures


def _check_roundtrip(method: Method, corpus: list[Series], blobs: list[object]) -> None:
    # A speed figure for a codec that loses data would be meaningless.
    for (ts, vs), blob in zip(corpus, blobs, strict=True):
        got_ts, got_vs = method.decode(blob)
        if not (np.array_equal(got_ts, ts) and np.array_equal(got_vs.view(np.uint64), vs.view(np.uint64))):
            raise AssertionError("a codec did not round-trip a series bit for bit")


def _best_time(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best
