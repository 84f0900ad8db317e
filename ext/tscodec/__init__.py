"""tscodec: lossless Gorilla compression of one time series block.

``encode`` turns int64 nanosecond timestamps and float64 values into a
self-describing blob, ``decode`` gives them back bit for bit (every NaN
payload, -0.0, any timestamp order), and ``stats`` reads the block's time
range and value statistics from the header without touching the payload, so
a query can skip blocks. The layout is specified in ``tscodec.format``.

The hot loops run in the compiled ``_gorilla`` module; if it is missing (no
compiler at install time) the pure-Python ``reference`` takes over, with the
same bytes and much lower speed. ``IMPLEMENTATION`` says which one is live.
"""

from __future__ import annotations

import numpy as np

from tscodec.format import FORMAT_VERSION, MAGIC, BlockStats, CodecError, as_columns, read_stats, seal, unseal

try:
    from tscodec._gorilla import decode_payload, encode_payload, summarize

    IMPLEMENTATION = "cython"
except ImportError:
    from tscodec.reference import decode_payload, encode_payload, summarize

    IMPLEMENTATION = "python"

__all__ = [
    "FORMAT_VERSION",
    "IMPLEMENTATION",
    "MAGIC",
    "BlockStats",
    "CodecError",
    "decode",
    "encode",
    "stats",
]


def encode(timestamps: object, values: object) -> bytes:
    """A blob holding the points in the given order.

    ``timestamps`` must convert to int64 and ``values`` to float64 without
    loss, both 1-D and of one length; otherwise CodecError says which rule
    failed.
    """
    ts, vs = as_columns(timestamps, values)
    return seal(summarize(ts, vs), encode_payload(ts, vs))


def decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The int64 timestamps and float64 values of a blob, bit for bit.

    Raises CodecError for a blob that is truncated, corrupt, not a tscodec
    blob or of a version this build does not read.
    """
    header, payload = unseal(blob)
    ts = np.empty(header.count, np.int64)
    vs = np.empty(header.count, np.float64)
    decode_payload(payload, ts, vs)
    return ts, vs


def stats(blob: bytes) -> BlockStats:
    """The header statistics; checks the header but, unlike ``decode``, not the checksum."""
    return read_stats(blob)
