"""The tscodec blob layout, version 1: the contract every reader and writer follows.

A blob is ``HEADER`` (105 bytes) followed by exactly ``payload_bytes`` bytes of
payload; nothing may follow. All header integers are little-endian, with no
padding. Offsets 0-4 (magic and version) are fixed for every version: a reader
checks them first and only then interprets the rest with that version's layout,
so a version 2 can sit beside this one.

====== ==== ====== =============================================================
offset size type   field
====== ==== ====== =============================================================
0      4    bytes  magic ``b"SFTS"``
4      1    u8     format version, 1
5      8    u64    count: number of points
13     8    u64    nan_count: values that are NaN (any payload)
21     8    i64    min_ts: smallest timestamp
29     8    i64    max_ts: largest timestamp
37     8    i64    first_ts: timestamp of point 0
45     8    i64    last_ts: timestamp of point count-1
53     8    f64    min: smallest non-NaN value
61     8    f64    max: largest non-NaN value
69     8    f64    sum: IEEE double sum of the non-NaN values
77     8    f64    first: value of point 0, bit for bit
85     8    f64    last: value of point count-1, bit for bit
93     8    u64    payload_bytes
101    4    u32    crc32 (zlib) of header bytes 0-100 followed by the payload
====== ==== ====== =============================================================

Statistics are defined exactly, so every implementation writes the same bytes:
``min``/``max`` keep the first value (in point order) that no later value beats
with a strict ``<``/``>``, so ``-0.0`` vs ``0.0`` depends on order; ``sum`` adds
the non-NaN values left to right in double precision, starting from the first
of them (it may be ``±inf``, or NaN when it meets both infinities). With no
non-NaN value, ``min``, ``max`` and ``sum`` are the canonical quiet NaN
``0x7ff8000000000000``; ``nan_count == count`` tells that case apart from a NaN
sum. An empty block has every timestamp field 0, every value field the
canonical NaN and no payload.

Payload: one bit stream. Bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8``
(most significant first); an n-bit field is written most significant bit
first; the last byte is zero-padded, so ``payload_bytes = ceil(bits / 8)``,
and readers reject non-zero padding.
Point 0 is 64 bits of timestamp (two's complement) then 64 bits of value.
Every later point ``i`` is a timestamp field then a value field (Gorilla):

Timestamp: with ``D_i = t_i - t_(i-1)`` and ``D_0 = 0``, the field holds
``dod = D_i - D_(i-1)``, both computed modulo 2**64 and ``dod`` read as a
signed 64-bit integer. The shortest fitting bucket is used:

======= ============================ =========================================
prefix  then                         holds
======= ============================ =========================================
0       nothing                      dod == 0 (regular sampling)
10      12-bit two's complement      -2**11 <= dod < 2**11 (µs jitter in ns)
110     24-bit two's complement      -2**23 <= dod < 2**23 (ms jitter)
1110    36-bit two's complement      -2**35 <= dod < 2**35 (gaps up to ~34 s)
1111    64-bit two's complement      anything
======= ============================ =========================================

The buckets are the paper's, widened for nanoseconds (the paper's are sized
for seconds).

Value: ``x = bits_i XOR bits_(i-1)`` on the raw IEEE-754 bits.

======= ==================================================================
prefix  then
======= ==================================================================
0       nothing: x == 0
10      ``m`` bits: x >> (64 - L - m), with L and m from the last ``11``
        field (invalid before the first one)
11      5 bits L, 6 bits m (0 means 64), then m bits x >> (64 - L - m);
        L + m <= 64; later ``10`` fields reuse this window
======= ==================================================================

The writer sets ``L = min(leading zeros of x, 31)``, ``T`` = trailing zeros,
``m = 64 - L - T``, and reuses the window iff one exists, x fits in it
(``L >= L_prev`` and ``T >= T_prev``) and ``m_prev <= m + 11`` (reusing costs
no more than the 11 bits of a new window header).

Size bounds: a point after the first takes 2 bits at best and at most
4 + 64 + 2 + 5 + 6 + 64 = 145 bits, so a reader rejects, before allocating
anything, a header whose count does not satisfy
``ceil((128 + 2 (count-1)) / 8) <= payload_bytes <= ceil((128 + 145 (count-1)) / 8)``
(``payload_bytes == 0`` for ``count == 0``); writers size their buffer by the
upper bound.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MAGIC = b"SFTS"
FORMAT_VERSION = 1
PREFIX = struct.Struct("<4sB")
HEADER = struct.Struct("<4sBQQqqqqQQQQQQI")
CRC_OFFSET = HEADER.size - 4
NAN_BITS = 0x7FF8000000000000
FIRST_POINT_BITS = 128
MIN_POINT_BITS = 2
MAX_POINT_BITS = 145


class CodecError(ValueError):
    """Input the codec cannot encode, or a blob it cannot trust."""


@dataclass(frozen=True)
class BlockStats:
    """What a block holds, from its header alone: lets a reader skip blocks.

    NaN handling, ``-0.0`` and the summation order are defined in this module's docstring.
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


class Header(NamedTuple):
    """The header fields after magic and version; values as raw IEEE-754 bits."""

    count: int
    nan_count: int
    min_ts: int
    max_ts: int
    first_ts: int
    last_ts: int
    min: int
    max: int
    sum: int
    first: int
    last: int
    payload_bytes: int
    crc: int


def as_columns(timestamps: object, values: object) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as contiguous int64 and float64 arrays, or a CodecError saying why not."""
    ts = _column(timestamps, np.dtype(np.int64), "timestamps")
    vs = _column(values, np.dtype(np.float64), "values")
    if len(ts) != len(vs):
        raise CodecError(f"timestamps has {len(ts)} points but values has {len(vs)}")
    return ts, vs


def _column(data: object, dtype: np.dtype, name: str) -> np.ndarray:
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


def seal(summary: tuple[int, ...], payload: bytes) -> bytes:
    """The blob: header (from a kernel's ``summarize``) and checksum before the payload."""
    head = HEADER.pack(MAGIC, FORMAT_VERSION, *summary, len(payload), 0)[:CRC_OFFSET]
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + crc.to_bytes(4, "little") + payload


def unseal(blob: bytes) -> tuple[Header, memoryview]:
    """Header and payload of a blob whose checksum matches; decoding may start."""
    view = _bytes(blob)
    header = read_header(view)
    payload = view[HEADER.size :]
    if zlib.crc32(payload, zlib.crc32(view[:CRC_OFFSET])) != header.crc:
        raise CodecError("corrupt blob: checksum mismatch")
    return header, payload


def read_stats(blob: bytes) -> BlockStats:
    """Block statistics from the header; O(1), the payload is neither read nor checksummed."""
    h = read_header(_bytes(blob))
    return BlockStats(
        count=h.count,
        min_ts=h.min_ts,
        max_ts=h.max_ts,
        first_ts=h.first_ts,
        last_ts=h.last_ts,
        min=_float(h.min),
        max=_float(h.max),
        sum=_float(h.sum),
        first=_float(h.first),
        last=_float(h.last),
        nan_count=h.nan_count,
    )


def _float(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _bytes(blob: bytes) -> memoryview:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}")
    return memoryview(blob).cast("B")


def read_header(blob: memoryview) -> Header:
    """The checked header: magic, version, sizes and a count the payload can hold."""
    if len(blob) < PREFIX.size:
        raise CodecError(f"truncated blob: {len(blob)} bytes, shorter than magic and version")
    magic, version = PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise CodecError(f"not a tscodec blob: magic {magic!r}, expected {MAGIC!r}")
    if version != FORMAT_VERSION:
        raise CodecError(f"unknown format version {version}; this build reads {FORMAT_VERSION}")
    if len(blob) < HEADER.size:
        raise CodecError(f"truncated blob: {len(blob)} bytes, shorter than the {HEADER.size}-byte header")
    header = Header(*HEADER.unpack_from(blob)[2:])
    if len(blob) - HEADER.size != header.payload_bytes:
        raise CodecError(
            f"blob has {len(blob) - HEADER.size} payload bytes, header says {header.payload_bytes}"
        )
    _check_count(header)
    return header


def _check_count(header: Header) -> None:
    # Checked before anything is allocated, so a corrupt count cannot ask for terabytes.
    count, size = header.count, header.payload_bytes
    low, high = (0, 0) if count == 0 else payload_bounds(count)
    if not low <= size <= high:
        raise CodecError(f"header claims {count} points, which {size} payload bytes cannot hold")
    if header.nan_count > count:
        raise CodecError(f"header claims {header.nan_count} NaN values among {count} points")


def payload_bounds(count: int) -> tuple[int, int]:
    """Smallest and largest payload, in bytes, of ``count >= 1`` points."""
    extra = count - 1
    low = FIRST_POINT_BITS + MIN_POINT_BITS * extra
    high = FIRST_POINT_BITS + MAX_POINT_BITS * extra
    return (low + 7) // 8, (high + 7) // 8
