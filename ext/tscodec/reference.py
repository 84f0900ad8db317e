"""Pure-Python tscodec: the executable form of docs/CODEC.md, version 2 (and 1, in ``reference_v1``).

Written to be read beside the specification, one function per section, with
Python integers for every 64-bit quantity (wrapped with ``& M64``). The
compiled kernels in ``_kernels`` must write the same bytes and accept and
reject the same blobs; the tests hold them to it. Slow, and fine for it: it is
the oracle in the tests and the fallback when the extension is not built.

The writer's choices (delta order, centre, dictionary, decimal exponent,
frequencies) are not part of the format, but both implementations make them
the same way, with integer arithmetic and correctly rounded IEEE operations
only, so their blobs are byte-identical.
"""

from __future__ import annotations

import math
import struct
from itertools import pairwise

import numpy as np

from tscodec import format_v2 as f2
from tscodec import reference_v1
from tscodec.format import CodecError, as_columns, as_view, block_stats, version_of
from tscodec.format_v2 import M64, get_uvarint, put_uvarint, signed
from tscodec.reference_ints import decode_ints, encode_ints, plan_ints

DECIMAL_SAMPLE = 32
DICTIONARY_MAX = 1024
FLIP = 0x7FFFFFFFFFFFFFFF
TRANSFORM_DECIMAL, TRANSFORM_FLOAT = 0, 1


def encode(timestamps: object, values: object) -> bytes:
    """A version 2 blob holding the points, in the given order."""
    ts, vs = as_columns(timestamps, values)
    if len(ts) > f2.MAX_COUNT:
        raise CodecError(f"{len(ts)} points: a blob holds at most {f2.MAX_COUNT}; split the series")
    summary = summarize(ts, vs)
    payload = encode_payload(ts, vs)
    blob = f2.pack_header(len(ts), len(payload), summary) + payload
    blob[f2.CRC_OFFSET : f2.FIXED_SIZE] = f2.blob_crc(blob).to_bytes(4, "little")
    return bytes(blob)


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The int64 timestamps and float64 values of a blob of any version, bit for bit."""
    view = as_view(blob)
    if version_of(view) == 1:
        return reference_v1.decode(blob)
    header = f2.read_header(view)
    if f2.blob_crc(view) != header.crc:
        raise CodecError("corrupt blob: checksum mismatch")
    ts, bits = decode_payload(view[header.header_size :], header)
    return np.array(ts, np.uint64).view(np.int64), np.array(bits, np.uint64).view(np.float64)


def stats(blob: bytes):
    """The header statistics of a blob of any version; checks the header, not the checksum."""
    view = as_view(blob)
    if version_of(view) == 1:
        return reference_v1.stats(blob)
    h = f2.read_header(view)
    times = (h.min_ts, h.max_ts, h.first_ts, h.last_ts)
    return block_stats(h.count, h.nan_count, times, (h.min, h.max, h.sum, h.first, h.last))


summarize = reference_v1.summarize  # the statistics are defined alike in both versions


# ---- payload: the timestamp column, then the value section ------------------


def encode_payload(timestamps: np.ndarray, values: np.ndarray) -> bytearray:
    out = bytearray()
    if len(timestamps) >= 2:
        encode_ints(timestamps.tolist(), out, x0_known=True)
        encode_values(values, out)
    return out


def decode_payload(payload: memoryview, header: f2.HeaderV2) -> tuple[list[int], list[int]]:
    """Timestamps and value bits (unsigned) of a checked header's payload."""
    n, buf = header.count, bytes(payload)
    if n <= 1:
        return [header.first_ts & M64] * n, [header.first] * n
    ts, pos = decode_ints(buf, 0, n, x0=header.first_ts)
    bits, pos = decode_values(buf, pos, n)
    if pos != len(buf):
        raise CodecError(f"corrupt payload: {len(buf) - pos} bytes follow the value section")
    return [t & M64 for t in ts], bits


# ---- the value section ----------------------------------------------------------


def encode_values(values: np.ndarray, out: bytearray) -> None:
    """Append the value section: transform, exceptions, then a direct or dictionary integer column."""
    floats, bits = values.tolist(), values.view(np.uint64).tolist()
    e = decimal_exponent(floats)
    ints, exceptions = (None, [])
    if e is not None:
        ints, exceptions = decimals(floats, e)
    if ints is None:
        e, ints = None, [signed(b ^ FLIP) if b >> 63 else b for b in bits]
    dictionary = distinct(ints, len(ints))
    direct = plan_ints(ints)
    if dictionary is not None:
        index = {v: i for i, v in enumerate(dictionary)}
        indices = [index[v] for v in ints]
        entries, keys = plan_ints(dictionary), plan_ints(indices)
        if entries[0] + keys[0] >= direct[0]:
            dictionary = None
    out.append(
        (TRANSFORM_FLOAT if e is None else TRANSFORM_DECIMAL)
        | (4 if dictionary else 0)
        | (8 if exceptions else 0)
    )
    if e is not None:
        out.append(e)
    if exceptions:
        put_uvarint(out, len(exceptions))
        encode_ints(exceptions, out)
        encode_ints([signed(bits[i]) for i in exceptions], out)
    if dictionary:
        put_uvarint(out, len(dictionary))
        encode_ints(dictionary, out, plan=entries)
        encode_ints(indices, out, plan=keys)
    else:
        encode_ints(ints, out, plan=direct)


def distinct(ints: list[int], n: int) -> list[int] | None:
    """The sorted distinct values, if few enough for a dictionary to pay and spread wide enough to need one."""
    limit = min(DICTIONARY_MAX, n // 4)
    seen: set[int] = set()
    for v in ints:
        seen.add(v)
        if len(seen) > limit:
            return None
    entries = sorted(seen)
    if len(entries) < 2 or (entries[-1] - entries[0]) < 4 * len(entries):
        return None
    return entries


def decimal_exponent(floats: list[float]) -> int | None:
    """The exponent e that makes the most values exact integers over 10**e, cheaply, from a sample."""
    n = len(floats)
    size = min(n, DECIMAL_SAMPLE)
    needed = [smallest_exponent(floats[i * n // size]) for i in range(size)]
    best = None
    for e in sorted({x for x in needed if x is not None} | {0}):
        misses = sum(1 for x in needed if x is None or x > e)
        cost = misses * 192 + size * e * 10
        if best is None or cost < best[0]:
            best = (cost, e, misses)
    return None if 2 * best[2] > size else best[1]


def smallest_exponent(v: float) -> int | None:
    return next((e for e in range(f2.MAX_DECIMALS + 1) if as_decimal(v, e) is not None), None)


def as_decimal(v: float, e: int) -> int | None:
    """The integer d with d / 10**e == v bit for bit (|d| < 2**51), or None."""
    scaled = v * POWERS[e]
    if not abs(scaled) < f2.DECIMAL_LIMIT:
        return None
    d = math.floor(scaled + 0.5)
    if abs(d) >= f2.DECIMAL_LIMIT or d / POWERS[e] != v or (d == 0 and math.copysign(1.0, v) < 0):
        return None
    return d


POWERS = tuple(float(10**e) for e in range(f2.MAX_DECIMALS + 1))


def decimals(floats: list[float], e: int) -> tuple[list[int] | None, list[int]]:
    """(integers with exceptions filled, exception positions), or (None, []) if half are exceptions."""
    ds = [as_decimal(v, e) for v in floats]
    exceptions = [i for i, d in enumerate(ds) if d is None]
    if 2 * len(exceptions) > len(ds):
        return None, []
    fill = next(d for d in ds if d is not None)
    for i, d in enumerate(ds):
        if d is None:
            ds[i] = fill
        else:
            fill = d
    return ds, exceptions


def decode_values(buf: bytes, pos: int, n: int) -> tuple[list[int], int]:
    """The ``n`` value bit patterns of the value section at ``pos``, and the position after it."""
    if pos >= len(buf):
        raise CodecError("truncated payload: it ends before the value section")
    mode = buf[pos]
    transform, pos = mode & 3, pos + 1
    if mode > 15 or transform > 1:
        raise CodecError(f"corrupt payload: value section mode {mode:#04x}")
    e = None
    if transform == TRANSFORM_DECIMAL:
        if pos >= len(buf) or buf[pos] > f2.MAX_DECIMALS:
            raise CodecError("corrupt payload: decimal exponent missing or above 18")
        e, pos = buf[pos], pos + 1
    exceptions = []
    if mode & 8:
        count, pos = get_uvarint(buf, pos)
        if not 1 <= count <= n:
            raise CodecError(f"corrupt payload: {count} exceptions among {n} values")
        where, pos = decode_ints(buf, pos, count)
        patches, pos = decode_ints(buf, pos, count)
        if any(not 0 <= signed(i) < n for i in where) or any(b <= a for a, b in pairwise(where)):
            raise CodecError("corrupt payload: exception positions not increasing within the block")
        exceptions = list(zip(where, patches, strict=True))
    if mode & 4:
        size, pos = get_uvarint(buf, pos)
        if not 1 <= size <= n:
            raise CodecError(f"corrupt payload: dictionary of {size} entries for {n} values")
        entries, pos = decode_ints(buf, pos, size)
        table = [to_bits(signed(y), e) for y in entries]
        keys, pos = decode_ints(buf, pos, n)
        if any(k >= size for k in keys):
            raise CodecError("corrupt payload: dictionary index out of range")
        bits = [table[k] for k in keys]
    else:
        ints, pos = decode_ints(buf, pos, n)
        bits = [to_bits(signed(y), e) for y in ints]
    for i, patch in exceptions:
        bits[i] = patch
    return bits, pos


def to_bits(y: int, e: int | None) -> int:
    if e is None:
        return (y ^ FLIP) & M64 if y < 0 else y
    if not -f2.DECIMAL_LIMIT <= y < f2.DECIMAL_LIMIT:
        raise CodecError("corrupt payload: decimal integer beyond 2**51")
    return struct.unpack("<Q", struct.pack("<d", y / POWERS[e]))[0]
