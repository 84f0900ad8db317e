"""Pure-Python tscodec: the executable form of the spec in ``format.py``.

It spells every field out as a string of bits, so it reads like the format
description and is easy to check by eye; the compiled ``_kernels`` kernels must
write the same bytes. Slow, and fine for it: it is the oracle in the tests and
the fallback when the extension is not built. The kernels (``summarize``,
``encode_payload``, ``decode_payload``) take the same arguments as
``_kernels``'s.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from tscodec.format import CodecError, as_columns
from tscodec.format_v1 import NAN_BITS, read_stats, seal, unseal

M64 = (1 << 64) - 1
DOD_BUCKETS = (("10", 12), ("110", 24), ("1110", 36), ("1111", 64))
MAX_LEADING = 31
WINDOW_HEADER_BITS = 11

stats = read_stats


def encode(timestamps: object, values: object) -> bytes:
    """A blob holding the points, in the given order."""
    ts, vs = as_columns(timestamps, values)
    return seal(summarize(ts, vs), encode_payload(ts, vs))


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The int64 timestamps and float64 values of a blob, bit for bit."""
    header, payload = unseal(blob)
    ts = np.empty(header.count, np.int64)
    vs = np.empty(header.count, np.float64)
    decode_payload(payload, ts, vs)
    return ts, vs


def summarize(timestamps: np.ndarray, values: np.ndarray) -> tuple[int, ...]:
    """The header statistics in ``format.Header`` order, values as raw bits."""
    ts = timestamps.tolist()
    bits = values.view(np.uint64).tolist()
    if not ts:
        return (0, 0, 0, 0, 0, 0, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS)
    numbers = [v for v in values.tolist() if not math.isnan(v)]
    value_stats = [NAN_BITS] * 3
    if numbers:
        low = high = total = numbers[0]
        for v in numbers[1:]:
            low = v if v < low else low
            high = v if v > high else high
            total += v
        value_stats = [_bits(low), _bits(high), _bits(total)]
    nan_count = len(ts) - len(numbers)
    return (len(ts), nan_count, min(ts), max(ts), ts[0], ts[-1], *value_stats, bits[0], bits[-1])


def _bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def encode_payload(timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """The Gorilla bit stream of validated columns."""
    ts = timestamps.view(np.uint64).tolist()
    bits = values.view(np.uint64).tolist()
    if not ts:
        return b""
    fields = [f"{ts[0]:064b}", f"{bits[0]:064b}"]
    delta, window = 0, None
    for i in range(1, len(ts)):
        step = (ts[i] - ts[i - 1]) & M64
        fields.append(_dod_field((step - delta) & M64))
        delta = step
        field, window = _xor_field(bits[i] ^ bits[i - 1], window)
        fields.append(field)
    stream = "".join(fields)
    stream += "0" * (-len(stream) % 8)
    return int(stream, 2).to_bytes(len(stream) // 8, "big")


def _dod_field(dod: int) -> str:
    signed = dod - (1 << 64) if dod >> 63 else dod
    if signed == 0:
        return "0"
    prefix, width = next((p, w) for p, w in DOD_BUCKETS if -(1 << (w - 1)) <= signed < 1 << (w - 1))
    return f"{prefix}{signed & ((1 << width) - 1):0{width}b}"


def _xor_field(x: int, window: tuple[int, int] | None) -> tuple[str, tuple[int, int] | None]:
    """The value field for XOR ``x``, and the window in force after it."""
    if x == 0:
        return "0", window
    lead = min(64 - x.bit_length(), MAX_LEADING)
    trail = (x & -x).bit_length() - 1
    size = 64 - lead - trail
    if window is not None:
        old_lead, old_size = window
        old_trail = 64 - old_lead - old_size
        if lead >= old_lead and trail >= old_trail and old_size <= size + WINDOW_HEADER_BITS:
            return f"10{x >> old_trail:0{old_size}b}", window
    return f"11{lead:05b}{size % 64:06b}{x >> trail:0{size}b}", (lead, size)


def decode_payload(payload: bytes, timestamps: np.ndarray, values: np.ndarray) -> None:
    """Fill the preallocated columns from a payload, or raise CodecError."""
    reader = _Reader(bytes(payload))
    ts: list[int] = []
    bits: list[int] = []
    try:
        if len(timestamps):
            ts.append(reader.read(64))
            bits.append(reader.read(64))
        delta, window = 0, None
        while len(bits) < len(timestamps):
            delta = (delta + _read_dod(reader)) & M64
            ts.append((ts[-1] + delta) & M64)
            x, window = _read_xor(reader, window)
            bits.append(bits[-1] ^ x)
    except EOFError:
        raise CodecError(f"truncated payload: it ends inside point {len(bits)}") from None
    reader.finish()
    timestamps.view(np.uint64)[:] = ts
    values.view(np.uint64)[:] = bits


def _read_dod(reader: _Reader) -> int:
    ones = 0
    while ones < len(DOD_BUCKETS) and reader.read(1):
        ones += 1
    if ones == 0:
        return 0
    width = DOD_BUCKETS[ones - 1][1]
    raw = reader.read(width)
    return (raw - ((raw >> (width - 1)) << width)) & M64


def _read_xor(reader: _Reader, window: tuple[int, int] | None) -> tuple[int, tuple[int, int] | None]:
    if reader.read(1) == 0:
        return 0, window
    if reader.read(1) == 0:
        if window is None:
            raise CodecError("corrupt payload: a value reuses a window before any was set")
    else:
        window = (reader.read(5), reader.read(6) or 64)
        if sum(window) > 64:
            raise CodecError("corrupt payload: value window wider than 64 bits")
    lead, size = window
    return reader.read(size) << (64 - lead - size), window


class _Reader:
    """Fields off the front of a payload held as a string of '0'/'1'."""

    def __init__(self, payload: bytes) -> None:
        self.bits = format(int.from_bytes(payload, "big"), f"0{8 * len(payload)}b") if payload else ""
        self.pos = 0

    def read(self, width: int) -> int:
        end = self.pos + width
        if end > len(self.bits):
            raise EOFError
        value = int(self.bits[self.pos : end], 2)
        self.pos = end
        return value

    def finish(self) -> None:
        rest = self.bits[self.pos :]
        if len(rest) >= 8:
            raise CodecError(f"corrupt payload: {len(rest) // 8} bytes follow the last point")
        if "1" in rest:
            raise CodecError("corrupt payload: padding bits are not zero")
