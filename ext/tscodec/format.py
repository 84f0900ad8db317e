"""What every tscodec blob version shares: magic, version dispatch, errors, statistics.

A blob starts with the magic ``b"SFTS"`` and a one-byte format version; a
reader checks both and only then reads the rest with that version's layout
(``format_v1``, ``format_v2``; ``docs/CODEC.md`` specifies them). Every
failure to read or write is a ``CodecError``::

    ValueError
    └── CodecError      bad input to encode; a blob that is truncated, corrupt,
                        not a tscodec blob, or of a version this build does not read
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"SFTS"
VERSIONS = (1, 2)
_PREFIX = struct.Struct("<4sB")


class CodecError(ValueError):
    """Input the codec cannot encode, or a blob it cannot trust."""


@dataclass(frozen=True)
class BlockStats:
    """What a block holds, from its header alone: lets a reader skip blocks.

    NaN handling, ``-0.0`` and the summation order are defined in docs/CODEC.md.
    """

    count: int
    min_ts: int
    max_ts: int
    first_ts: int
    last_ts: int
    min: float
    max: float
    sum: float
    first: float
    last: float
    nan_count: int


def as_columns(timestamps: object, values: object) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as contiguous int64 and float64 arrays, or a CodecError saying why not."""
    ts = _column(timestamps, np.dtype(np.int64), "timestamps")
    vs = _column(values, np.dtype(np.float64), "values")
    if len(ts) != len(vs):
        raise CodecError(f"timestamps has {len(ts)} points but values has {len(vs)}")
    return ts, vs


def _column(data: object, dtype: np.dtype, name: str) -> np.ndarray:
    if type(data) is np.ndarray and data.dtype == dtype and data.ndim == 1 and data.flags.c_contiguous:
        return data  # the usual input, told apart in a fraction of the checks below (same result)
    array = np.asarray(data)
    if array.ndim != 1:
        raise CodecError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not _lossless(array.dtype, dtype):
        raise CodecError(f"{name} must convert to {dtype} without loss, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype)


def _lossless(source: np.dtype, target: np.dtype) -> bool:
    # numpy calls int64 -> float64 "safe", but integers beyond 2**53 would round.
    if target.kind == "f" and source.kind in "iu":
        return source.itemsize <= 4
    return bool(np.can_cast(source, target, "safe"))


def as_view(blob: object) -> memoryview:
    """A blob's bytes; a TypeError for anything that is not bytes-like."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}")
    return memoryview(blob).cast("B")


def version_of(blob: memoryview) -> int:
    """The format version after checking the magic; CodecError for an unknown one."""
    if len(blob) < _PREFIX.size:
        raise CodecError(f"truncated blob: {len(blob)} bytes, shorter than magic and version")
    magic, version = _PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise CodecError(f"not a tscodec blob: magic {magic!r}, expected {MAGIC!r}")
    if version not in VERSIONS:
        raise CodecError(
            f"unknown format version {version}; this build reads {', '.join(map(str, VERSIONS))}"
        )
    return version


def block_stats(
    count: int, nan_count: int, times: tuple[int, int, int, int], values: tuple[int, ...]
) -> BlockStats:
    """BlockStats from header fields: ``times`` (min, max, first, last), ``values`` bits (min, max, sum, first, last)."""
    low, high, total, first, last = (struct.unpack("<d", struct.pack("<Q", bits))[0] for bits in values)
    return BlockStats(count, *times, low, high, total, first, last, nan_count)
