"""Mutated and random blobs for the fuzz tests: seeds of every version and kind, and the mutations.

Most mutations keep a valid header and checksum around a damaged payload (or repair the checksum of a
damaged header), so that the input gets past the checksum and exercises the payload readers; the rest
damage the blob anywhere.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import numpy as np

import tscodec
from tests.codec.strategies import counter, states
from tscodec import format_v2
from tscodec.format import CodecError

GOLDEN = Path(__file__).parent / "golden"
INTERESTING = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0x3F, 0x40, 0x10, 0x14, 0x04, 0x08, 0x05, 0x09]


def seeds() -> list[bytes]:
    """The golden blobs of both versions and a few more of each column kind."""
    blobs = [
        bytes.fromhex(b) for v in (1, 2) for b in json.loads((GOLDEN / f"v{v}.json").read_text()).values()
    ]
    gen = np.random.default_rng(5)
    ts = 10**9 * np.arange(300, dtype=np.int64)
    for vs in (states(300, gen), counter(300, gen), np.round(gen.normal(0, 1, 300), 4), gen.random(300)):
        blobs.append(tscodec.encode(ts, vs))
        blobs.append(tscodec.encode(ts[:40], vs[:40]))
    return blobs


def mutate(blob: bytes, rnd: random.Random, others: list[bytes]) -> bytes:
    """A damaged copy of ``blob``: payload damage behind a valid header (mostly), or damage anywhere."""
    choice = rnd.random()
    if blob[4:5] == b"\x02" and choice < 0.8:
        try:
            header = format_v2.read_header(memoryview(blob))
        except CodecError:
            return damage(bytearray(blob), rnd, others, 0)
        body = damage(bytearray(blob[header.header_size :]), rnd, others, 0)
        count = (
            header.count
            if rnd.random() < 0.9
            else rnd.choice([2, 3, header.count + 1, rnd.randrange(2, 5000)])
        )
        summary = (count, 0, 0, 0, 0, 0, header.min, header.max, header.sum, header.first, header.last)
        return seal(format_v2.pack_header(count, len(body), summary) + body)
    damaged = damage(bytearray(blob), rnd, others, 5)
    return seal(damaged) if rnd.random() < 0.7 else damaged


def damage(data: bytearray, rnd: random.Random, others: list[bytes], start: int) -> bytes:
    for _ in range(rnd.choice([1, 1, 1, 2, 3, 8])):
        size = len(data)
        at = rnd.randrange(start, size) if size > start else start
        op = rnd.randrange(8)
        if op == 0 and size > start:
            data[at] ^= 1 << rnd.randrange(8)
        elif op == 1 and size > start:
            data[at] = rnd.choice(INTERESTING) if rnd.random() < 0.5 else rnd.randrange(256)
        elif op == 2 and size > start:
            del data[at : at + rnd.randint(1, 16)]
        elif op == 3:
            data[at:at] = rnd.randbytes(rnd.randint(1, 16))
        elif op == 4 and size > start:
            del data[at:]
        elif op == 5 and size > start:
            piece = data[at : at + rnd.randint(1, 32)]
            data[rnd.randrange(start, len(data) + 1) : 0] = piece
        elif op == 6:
            other = rnd.choice(others)
            cut = rnd.randrange(len(other) + 1)
            data[at:] = other[cut : cut + rnd.randint(1, 64)]
        elif op == 7 and size > start:
            data[at : at + 2] = rnd.randbytes(2)
    return bytes(data)


def seal(blob: bytes | bytearray) -> bytes:
    """The blob with the checksum its version's prefix calls for."""
    blob = bytearray(blob)
    if blob[:5] == b"SFTS\x02" and len(blob) >= 9:
        blob[5:9] = format_v2.blob_crc(blob).to_bytes(4, "little")
    elif blob[:5] == b"SFTS\x01" and len(blob) >= 105:
        blob[101:105] = zlib.crc32(blob[105:], zlib.crc32(blob[:101])).to_bytes(4, "little")
    return bytes(blob)


def random_blob(rnd: random.Random) -> bytes:
    """Random bytes behind a plausible prefix, checksum set."""
    prefix = rnd.choice([b"SFTS\x02", b"SFTS\x01", b"SFTS", b""])
    return seal(prefix + rnd.randbytes(rnd.randrange(0, 160)))


def outcome(decode, blob: bytes) -> object:
    """What a reader makes of a blob: the decoded bits, or that it refused it with a CodecError."""
    try:
        ts, vs = decode(blob)
    except CodecError:
        return "refused"
    assert ts.dtype == np.int64 and vs.dtype == np.float64 and len(ts) == len(vs)
    return ts.tobytes(), vs.tobytes()
