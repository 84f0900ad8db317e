"""tscodec: lossless compression of one time-series block (int64 timestamps, float64 values).

``encode`` turns int64 nanosecond timestamps and float64 values into a
self-describing blob, ``decode`` gives them back bit for bit (every NaN
payload, -0.0, any timestamp order), and ``stats`` reads the block's time
range and value statistics from the header without touching the payload, so
a query can skip or aggregate blocks. ``encode`` writes format version 2;
``decode`` and ``stats`` read versions 1 and 2. docs/CODEC.md specifies both.

The compiled ``_kernels`` module does the work; if it is missing (no compiler
at install time) the pure-Python ``reference`` takes over, with the same bytes
and much lower speed. ``IMPLEMENTATION`` says which one is live.
"""

from __future__ import annotations

from dataclasses import astuple

from tscodec import format_v1, format_v2
from tscodec.format import MAGIC, BlockStats, CodecError, as_view, block_stats, version_of

try:
    from tscodec._kernels import bucket_parts, decode, encode, summarize

    IMPLEMENTATION = "cython"
except ImportError:
    from tscodec.reference import decode, encode, summarize
    from tscodec.summaries import bucket_parts

    IMPLEMENTATION = "python"

try:  # a tenth of the time of format_v2's reader: ingest reads the header of every block it writes
    from tscodec._kernels import header_stats
except ImportError:  # no compiled kernels, or kernels built before they read headers
    header_stats = None

FORMAT_VERSION = format_v2.VERSION

__all__ = [
    "FORMAT_VERSION",
    "IMPLEMENTATION",
    "MAGIC",
    "BlockStats",
    "CodecError",
    "bucket_parts",
    "check_stats",
    "decode",
    "encode",
    "stats",
]

# encode(timestamps, values) -> bytes
#     A version 2 blob holding the points in the given order. ``timestamps`` must
#     convert to int64 and ``values`` to float64 without loss, both 1-D and of one
#     length, at most format_v2.MAX_COUNT points; otherwise CodecError says which
#     rule failed.
#
# bucket_parts(blobs, edges, with_m2=False) -> structured array (summaries.PARTS)
#     Per blob and per bucket of ``edges`` its points fall in: count, min, max, sum, first, last, where
#     the extremes first occur, and with ``with_m2`` the sum of squared deviations. See summaries.py.
#
# decode(blob) -> (timestamps, values)
#     The int64 timestamps and float64 values of a blob, bit for bit. Raises
#     CodecError for a blob that is truncated, corrupt, not a tscodec blob or of
#     a version this build does not read; TypeError if ``blob`` is not bytes-like.


def stats(blob: bytes) -> BlockStats:
    """The header statistics; checks the header but, unlike ``decode``, not the checksum."""
    if header_stats is not None and type(blob) is bytes and (found := header_stats(blob)) is not None:
        return found
    view = as_view(blob)
    return format_v1.read_stats(view) if version_of(view) == 1 else format_v2.read_stats(view)


def check_stats(blob: bytes, timestamps, values) -> None:
    """Raise CodecError unless the header statistics of ``blob`` are those of the points ``decode`` gave.

    ``decode`` checks the checksum, but whoever made a blob computed it over the header they wrote: a blob
    from outside (a device's) can carry statistics that do not describe its points, and readers answer
    aggregates and skip blocks from the statistics alone. NaNs compare equal here, whatever their payload."""
    count, nans, *times, low, high, total, first, last = summarize(timestamps, values)
    expected = block_stats(count, nans, tuple(times), (low, high, total, first, last))
    if not all(
        a == b or (a != a and b != b) for a, b in zip(astuple(stats(blob)), astuple(expected), strict=True)
    ):
        raise CodecError("corrupt header: its statistics do not describe the points")
