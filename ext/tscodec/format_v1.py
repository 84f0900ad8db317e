"""The tscodec blob layout, version 1 (Gorilla): still read, no longer written by ``encode``.

docs/CODEC.md, section 9, specifies it: a 105-byte header (``HEADER``: magic,
version 1, count, nan_count, min/max/first/last timestamps, min/max/sum/first/last
values, payload_bytes, zlib CRC-32) and a most-significant-bit-first Gorilla
bit stream (delta-of-delta timestamps, XOR values). The kernels are
``reference_v1`` and the compiled ``_kernels_v1.pxi``.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from tscodec.format import MAGIC, BlockStats, CodecError, as_view, block_stats, version_of

VERSION = 1
HEADER = struct.Struct("<4sBQQqqqqQQQQQQI")
CRC_OFFSET = HEADER.size - 4
NAN_BITS = 0x7FF8000000000000
FIRST_POINT_BITS = 128
MIN_POINT_BITS = 2
MAX_POINT_BITS = 145


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


def seal(summary: tuple[int, ...], payload: bytes) -> bytes:
    """The blob: header (from a kernel's ``summarize``) and checksum before the payload."""
    head = HEADER.pack(MAGIC, VERSION, *summary, len(payload), 0)[:CRC_OFFSET]
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + crc.to_bytes(4, "little") + payload


def unseal(blob: bytes) -> tuple[Header, memoryview]:
    """Header and payload of a blob whose checksum matches; decoding may start."""
    view = as_view(blob)
    header = read_header(view)
    payload = view[HEADER.size :]
    if zlib.crc32(payload, zlib.crc32(view[:CRC_OFFSET])) != header.crc:
        raise CodecError("corrupt blob: checksum mismatch")
    return header, payload


def read_stats(blob: bytes) -> BlockStats:
    """Block statistics from the header; O(1), the payload is neither read nor checksummed."""
    h = read_header(as_view(blob))
    times = (h.min_ts, h.max_ts, h.first_ts, h.last_ts)
    return block_stats(h.count, h.nan_count, times, (h.min, h.max, h.sum, h.first, h.last))


def read_header(blob: memoryview) -> Header:
    """The checked header: magic, version, sizes and a count the payload can hold."""
    if version_of(blob) != VERSION:
        raise CodecError(f"not a version {VERSION} blob")
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
