"""The tscodec blob layout, version 2: header, limits and shared tables.

``docs/CODEC.md`` is the specification (every field and bit layout); this
module is its header half in executable form, shared by the compiled kernels
and the pure-Python ``reference``. A blob is::

    magic "SFTS" | version 2 | CRC-32C (u32) | header fields | payload

The checksum covers every byte except its own four. Header fields after the
checksum are unsigned LEB128 varints, zigzag varints, raw little-endian
int64s and raw IEEE-754 doubles (see ``HeaderV2``); ``stats`` reads them
without touching the payload.
"""

from __future__ import annotations

import math
import struct
from typing import NamedTuple

from tscodec.format import MAGIC, BlockStats, CodecError, block_stats

VERSION = 2
CRC_OFFSET = 5
FIXED_SIZE = 9  # magic, version, checksum
MAX_COUNT = 1 << 24  # points per blob; longer series are split into blocks
NAN_BITS = 0x7FF8000000000000
M64 = (1 << 64) - 1
_U64 = struct.Struct("<Q")
_HEAD_FIXED = struct.Struct("<4sBI")

# Residual tokens (docs/CODEC.md, section 5): the split the writer uses.
TOKEN_SPLIT = 4  # s: zigzag values below 2**s are tokens of their own
TOKEN_MANTISSA = 2  # m: bits after the leading one that go into the token
MAX_PRECISION = 12  # rANS frequencies sum to 2**precision, precision <= 12
MAX_DECIMALS = 18
DECIMAL_LIMIT = 1 << 51  # decimal integers satisfy -2**51 <= d < 2**51 (exact as doubles, fast to convert)


class HeaderV2(NamedTuple):
    """The header fields of a version 2 blob; values as raw IEEE-754 bits."""

    count: int
    payload_bytes: int
    nan_count: int
    first_ts: int
    last_ts: int
    min_ts: int
    max_ts: int
    first: int
    last: int
    min: int
    max: int
    sum: int
    header_size: int
    crc: int


# ---- LEB128 varints -------------------------------------------------------


def put_uvarint(out: bytearray, value: int) -> None:
    """Append ``value`` (0 <= value < 2**64) as an unsigned LEB128 varint."""
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def get_uvarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it; at most 10 bytes, below 2**64."""
    value = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            raise CodecError("truncated blob: it ends inside a varint")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value > M64:
                raise CodecError("corrupt blob: varint exceeds 64 bits")
            return value, pos + i + 1
        shift += 7
    raise CodecError("corrupt blob: varint longer than 10 bytes")


def zigzag(value: int) -> int:
    """A signed 64-bit value as unsigned: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ..."""
    return ((value << 1) ^ (value >> 63)) & M64


def unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def signed(value: int) -> int:
    """An integer taken modulo 2**64, as a signed 64-bit value."""
    value &= M64
    return value - (1 << 64) if value >> 63 else value


# ---- CRC-32C (Castagnoli), reflected, init and final XOR 0xFFFFFFFF -------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return tuple(table)


CRC32C_TABLE = _crc_table()


def crc32c(data: bytes | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data``, continuing from a previous result ``crc``."""
    table = CRC32C_TABLE
    crc ^= 0xFFFFFFFF
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def blob_crc(blob: bytes | memoryview) -> int:
    """The checksum a blob must carry: CRC-32C of all bytes but the checksum field."""
    return crc32c(blob[FIXED_SIZE:], crc32c(blob[:CRC_OFFSET]))


# ---- the writer's cost model, shared so both implementations decide alike --


def _log2_table() -> tuple[int, ...]:
    return tuple(round(65536 * math.log2(1 + i / 256)) for i in range(256))


LOG2_FRACTION = _log2_table()  # 2**16 * log2(1 + i/256): integer log2 for cost estimates


def log2_fixed(value: int) -> int:
    """``2**16 * log2(value)`` for ``value >= 1``, to 8 bits of mantissa: integer arithmetic only."""
    top = value.bit_length() - 1
    index = (value >> (top - 8)) & 255 if top >= 8 else (value << (8 - top)) & 255
    return (top << 16) + LOG2_FRACTION[index]


# ---- header ----------------------------------------------------------------


def pack_header(count: int, payload_bytes: int, summary: tuple[int, ...]) -> bytearray:
    """Header bytes with a zero checksum; ``summary`` as from ``summarize`` (format.Header order)."""
    out = bytearray(_HEAD_FIXED.pack(MAGIC, VERSION, 0))
    put_uvarint(out, count)
    put_uvarint(out, payload_bytes)
    if count:
        _, nans, min_ts, max_ts, first_ts, last_ts, low, high, total, first, last = summary
        put_uvarint(out, nans)
        out += _U64.pack(first_ts & M64)
        put_uvarint(out, zigzag(signed(last_ts - first_ts)))
        put_uvarint(out, (first_ts - min_ts) & M64)
        put_uvarint(out, (max_ts - last_ts) & M64)
        out += struct.pack("<5Q", first, last, low, high, total)
    return out


def read_header(blob: memoryview) -> HeaderV2:
    """The checked header of a version 2 blob (magic and version already checked)."""
    if len(blob) < FIXED_SIZE:
        raise CodecError(f"truncated blob: {len(blob)} bytes, shorter than the {FIXED_SIZE}-byte prefix")
    crc = int.from_bytes(blob[CRC_OFFSET:FIXED_SIZE], "little")
    count, pos = get_uvarint(blob, FIXED_SIZE)
    payload_bytes, pos = get_uvarint(blob, pos)
    if count > MAX_COUNT:
        raise CodecError(f"header claims {count} points, more than the {MAX_COUNT} a blob may hold")
    fields = [0, 0, 0, 0, 0] + [NAN_BITS] * 5
    if count:
        fields, pos = _read_stats(blob, pos, count)
    if len(blob) - pos != payload_bytes:
        raise CodecError(f"blob has {len(blob) - pos} payload bytes, header says {payload_bytes}")
    if (count > 1) != (payload_bytes > 0):
        raise CodecError(f"header claims {count} points, which {payload_bytes} payload bytes cannot hold")
    return HeaderV2(count, payload_bytes, *fields, header_size=pos, crc=crc)


def read_stats(blob: memoryview) -> BlockStats:
    """The statistics of a version 2 blob's checked header (the compiled ``header_stats`` reads the same)."""
    h = read_header(blob)
    times = (h.min_ts, h.max_ts, h.first_ts, h.last_ts)
    return block_stats(h.count, h.nan_count, times, (h.min, h.max, h.sum, h.first, h.last))


def _read_stats(blob: memoryview, pos: int, count: int) -> tuple[list[int], int]:
    nans, pos = get_uvarint(blob, pos)
    if nans > count:
        raise CodecError(f"header claims {nans} NaN values among {count} points")
    if pos + 8 > len(blob):
        raise CodecError("truncated blob: it ends inside the header")
    first_ts = signed(_U64.unpack_from(blob, pos)[0])
    span, pos = get_uvarint(blob, pos + 8)
    below, pos = get_uvarint(blob, pos)
    above, pos = get_uvarint(blob, pos)
    last_ts = signed(first_ts + unzigzag(span))
    min_ts, max_ts = signed(first_ts - below), signed(last_ts + above)
    if not min_ts <= min(first_ts, last_ts) <= max(first_ts, last_ts) <= max_ts:
        raise CodecError("corrupt blob: header time range does not hold the first and last timestamps")
    if pos + 40 > len(blob):
        raise CodecError("truncated blob: it ends inside the header")
    first, last, low, high, total = struct.unpack_from("<5Q", blob, pos)
    return [nans, first_ts, last_ts, min_ts, max_ts, first, last, low, high, total], pos + 40
