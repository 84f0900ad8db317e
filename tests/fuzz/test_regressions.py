"""RELIABILITY S2: inputs the fuzzers found, kept so the faults stay fixed."""

from __future__ import annotations

import base64
import struct
import tracemalloc

import numpy as np
import pytest

import tscodec
from services.ingest.admission import footprint
from services.ingest.batches import IncomingSeries, MalformedBatch, validate
from services.ingest.handlers import incoming
from sfcloud.v1 import ingest_pb2
from tests.codec.fuzzing import seal
from tests.fuzz.targets import encoded_batch
from tscodec import format_v2

# atheris, 2026-12-06: a device's version-1 block whose checksum covers a header with statistics (time
# range, min, max, sum) that do not describe its one point; ingest stored it as it came, statistics and all.
LYING_V1_BLOCK = (
    "CAMaoQEKJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMRJ5U0ZUUwEBAAAAAAAAAAEAAAAAAAAAABqXfDV/EAAAAAAA"
    "AABA1dGVFfqbNXyXGgB/+N6tAAAA+H8AAAAAAAD4fwEAAACt3uh/AQAAAK3e+H8QAAAAAAAAAECt3vh/EAAAAAAAAACt5BNdFfqbNXyX"
    "GgB/+N6tAAAAAQ=="
)
NOW_NS = 1_796_515_200 * 10**9


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def lying_v2_blob() -> bytes:
    """A valid version-2 blob of ten points re-sealed under a header claiming a wider range and sum."""
    ts = 1_796_000_000 * 10**9 + 10**9 * np.arange(10, dtype=np.int64)
    blob = tscodec.encode(ts, np.arange(10.0))
    h = format_v2.read_header(memoryview(blob))
    summary = (h.count, 0, h.min_ts, h.max_ts + 10**13, h.first_ts, h.last_ts, bits(-5.0), h.max, bits(1e9))
    header = format_v2.pack_header(h.count, h.payload_bytes, (*summary, h.first, h.last))
    return seal(header + blob[h.header_size :])


def test_a_block_whose_header_lies_is_refused():
    """RELIABILITY S2: the atheris input: a block with statistics that do not describe its points."""
    request = ingest_pb2.IngestRequest.FromString(base64.b64decode(LYING_V1_BLOCK))
    with pytest.raises(MalformedBatch) as refused:
        validate(*incoming(request), now_ns=NOW_NS)
    assert "statistics do not describe the points" in refused.value.message


def test_a_version_2_block_whose_header_lies_is_refused():
    """RELIABILITY S2: the same fault in the current format: the checksum holds, the statistics lie."""
    blob = lying_v2_blob()
    timestamps, values = tscodec.decode(blob)  # decodes: the checksum covers the lie
    with pytest.raises(tscodec.CodecError, match="statistics do not describe"):
        tscodec.check_stats(blob, timestamps, values)
    block = ingest_pb2.SeriesBlock(series_id="00000000-0000-0000-0000-000000000001", payload=blob)
    with pytest.raises(MalformedBatch):
        validate(*incoming(ingest_pb2.IngestRequest(blocks=[block])), now_ns=NOW_NS)


@pytest.mark.parametrize(
    "values",
    [np.arange(10.0), np.full(10, np.nan), np.array([np.nan, -0.0, 0.0, np.inf, 1, 2, 3, 4, 5, -np.inf])],
)
def test_honest_blocks_pass_the_statistics_check(values):
    """RELIABILITY S2: every blob the encoder makes passes (NaN statistics of an all-NaN block too)."""
    ts = 1_796_000_000 * 10**9 + 10**9 * np.arange(10, dtype=np.int64)
    blob = tscodec.encode(ts, values)
    tscodec.check_stats(blob, *tscodec.decode(blob))
    block = ingest_pb2.SeriesBlock(series_id="00000000-0000-0000-0000-000000000001", payload=blob)
    [series] = validate(*incoming(ingest_pb2.IngestRequest(blocks=[block])), now_ns=NOW_NS)
    assert series.payload == blob


def test_points_in_distinct_hours_are_charged_what_they_hold():
    """RELIABILITY S2: atheris's find: a batch whose points lie an hour apart becomes one block per point, and
    held about seven times what admission charged for it (``footprint``) until each further block was charged."""
    # the 10,000 hours up to the runs' now: written first from 2026-11-30 on, the batch ran past the window
    # and was refused as MALFORMED_BATCH, so the expected failure came before the assertion
    timestamps = (NOW_NS - 3600 * 10**9 * np.arange(10_000, 0, -1)).tolist()
    entries = [IncomingSeries("00000000-0000-0000-0000-000000000001", timestamps, [1.5] * len(timestamps))]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        [(_, rows)] = encoded_batch(entries, [])
        held = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(rows) == 10_000
    assert held <= footprint(entries)
