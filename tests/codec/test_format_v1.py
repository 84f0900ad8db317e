"""Version 1 blobs (no longer written, still read) match ``tscodec.format_v1``, field by field."""

import math
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tscodec
from tscodec import _kernels, reference_v1
from tscodec.format_v1 import HEADER, payload_bounds, seal

NAN_BITS = 0x7FF8000000000000
LAYOUT = {  # name: (offset, struct code), as the table in tscodec.format documents them
    "count": (5, "Q"),
    "nan_count": (13, "Q"),
    "min_ts": (21, "q"),
    "max_ts": (29, "q"),
    "first_ts": (37, "q"),
    "last_ts": (45, "q"),
    "min": (53, "Q"),
    "max": (61, "Q"),
    "sum": (69, "Q"),
    "first": (77, "Q"),
    "last": (85, "Q"),
    "payload_bytes": (93, "Q"),
}
VALUE_FIELDS = {"min", "max", "sum", "first", "last"}


def encode_v1(timestamps, values) -> bytes:
    """A version 1 blob from the compiled kernels (checked against the reference below)."""
    ts, vs = np.asarray(timestamps, np.int64), np.asarray(values, np.float64)
    blob = seal(_kernels.summarize(ts, vs), _kernels.encode_payload_v1(ts, vs))
    assert blob == reference_v1.encode(ts, vs)
    return blob


def stream(blob: bytes) -> str:
    """The payload as a string of '0'/'1', first bit first."""
    payload = blob[HEADER.size :]
    return "".join(f"{byte:08b}" for byte in payload)


def field(blob: bytes, offset: int, fmt: str) -> int:
    return struct.unpack_from("<" + fmt, blob, offset)[0]


def f64(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def test_layout_constants():
    assert tscodec.MAGIC == b"SFTS"
    assert HEADER.size == 105


def test_a_small_blob_byte_for_byte():
    blob = encode_v1([10, 20, 30], [1.0, 1.0, 1.5])
    assert blob[:5] == b"SFTS\x01"
    assert {name: field(blob, offset, fmt) for name, (offset, fmt) in LAYOUT.items()} == {
        "count": 3,
        "nan_count": 0,
        "min_ts": 10,
        "max_ts": 30,
        "first_ts": 10,
        "last_ts": 30,
        "min": f64(1.0),
        "max": f64(1.5),
        "sum": f64(3.5),
        "first": f64(1.0),
        "last": f64(1.5),
        "payload_bytes": 20,
    }
    assert field(blob, 101, "I") == zlib.crc32(blob[:101] + blob[105:])
    # point 0: ts 10, value 1.0, raw. Point 1: dod 10 -> '10' + 12 bits; xor 0 -> '0'.
    # Point 2: dod 0 -> '0'; xor 0x0008000000000000 -> '11', L=12 (01100), m=1 (000001), bit '1'.
    # 30 bits, padded with '00': 10000000 00101000 11011000 00001100.
    assert blob[105:] == bytes.fromhex("000000000000000a3ff00000000000008028d80c")
    assert len(blob) == 105 + 20


@pytest.mark.parametrize(("prefix", "width"), [("10", 12), ("110", 24), ("1110", 36), ("1111", 64)])
def test_delta_of_delta_buckets_at_their_edges(prefix, width):
    narrower = {12: 0, 24: 12, 36: 24, 64: 36}[width]
    edges = [-(2 ** (width - 1)), 2 ** (width - 1) - 1]
    if narrower:
        edges += [2 ** (narrower - 1), -(2 ** (narrower - 1)) - 1]
    for dod in edges:
        # With t0 = 0, the first delta-of-delta is t1 itself.
        bits = stream(encode_v1([0, dod], [0.0, 0.0]))[128:]
        assert bits.startswith(prefix)
        raw = int(bits[len(prefix) : len(prefix) + width], 2)
        assert raw - ((raw >> (width - 1)) << width) == dod
        assert bits[len(prefix) + width] == "0"  # the value field: xor 0


def test_a_repeated_timestamp_gap_costs_one_bit():
    bits = stream(encode_v1([0, 7, 14, 21], [0.0] * 4))[128:]
    assert bits.startswith("10" + f"{7:012b}" + "0" + "0" + "0" + "0" + "0")


def test_a_value_reuses_the_window_it_fits():
    # 1.0 ^ 1.75 sets a window L=12, m=2; 1.75 ^ 1.5 = 0x0004... fits it: '10' + '01'.
    bits = stream(encode_v1([0, 0, 0], [1.0, 1.75, 1.5]))[128:]
    assert bits == "0" + "11" + "01100" + "000010" + "11" + "0" + "10" + "01" + "000"


def test_a_value_takes_a_new_window_when_reuse_wastes_more_than_eleven_bits():
    xors = [((1 << 40) - 1) << 12, 1 << 20]  # window L=12 m=40, then a lone bit at 20 (m=13)
    values = np.array([0, xors[0], xors[0] ^ xors[1]], dtype=np.uint64).view(np.float64)
    bits = stream(encode_v1([0, 0, 0], values))[128:]
    second = bits[1 + 2 + 5 + 6 + 40 + 1 :]
    assert second.startswith("11" + "11111" + "001101" + "0" * 12 + "1")


def test_an_empty_block():
    blob = encode_v1([], [])
    assert len(blob) == HEADER.size
    for name, (offset, fmt) in LAYOUT.items():
        assert field(blob, offset, fmt) == (NAN_BITS if name in VALUE_FIELDS else 0), name


def test_all_nan_values_keep_first_and_last_but_have_no_min_max_sum():
    nans = np.array([0x7FF8DEAD00000001, 0xFFF0000000000001], dtype=np.uint64).view(np.float64)
    blob = encode_v1([1, 2], nans)
    got = tscodec.stats(blob)
    assert (got.count, got.nan_count) == (2, 2)
    assert [field(blob, *LAYOUT[name]) for name in ("min", "max", "sum")] == [NAN_BITS] * 3
    assert (f64(got.first), f64(got.last)) == (0x7FF8DEAD00000001, 0xFFF0000000000001)


def test_min_max_sum_follow_the_written_rules():
    got = tscodec.stats(encode_v1([3, 1, 2, 0], [0.0, -0.0, np.nan, -0.0]))
    assert (f64(got.min), f64(got.max), f64(got.sum)) == (f64(0.0), f64(0.0), f64(0.0))
    got = tscodec.stats(encode_v1([0, 1, 2], [-0.0, 0.0, -0.0]))
    assert (f64(got.min), f64(got.max), f64(got.sum)) == (f64(-0.0), f64(-0.0), f64(0.0))
    got = tscodec.stats(encode_v1([0, 1, 2], [np.inf, 1.0, -np.inf]))
    assert (got.min, got.max, got.nan_count) == (-np.inf, np.inf, 0) and math.isnan(got.sum)
    assert (got.min_ts, got.max_ts, got.first_ts, got.last_ts) == (0, 2, 0, 2)


def test_stats_reads_only_the_header():
    blob = encode_v1([1, 2, 3], [4.0, 5.0, 6.0])
    damaged = blob[:-1] + bytes([blob[-1] ^ 0x80])
    assert tscodec.stats(damaged) == tscodec.stats(blob)
    with pytest.raises(tscodec.CodecError, match="checksum mismatch"):
        tscodec.decode(damaged)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(0, 2**64 - 1)), min_size=1, max_size=60)
)
def test_payload_size_stays_within_the_bounds_the_reader_checks(points):
    ts = np.array([t for t, _ in points], dtype=np.int64)
    vs = np.array([v for _, v in points], dtype=np.uint64).view(np.float64)
    low, high = payload_bounds(len(points))
    assert low <= len(reference_v1.encode_payload(ts, vs)) <= high


def test_the_worst_case_stays_within_the_bound_the_writer_allocates():
    # Every delta-of-delta needs the 64-bit bucket and every XOR a fresh 63-bit window: 68 + 76 bits.
    n = 1001
    ts = np.array([0, 2**62] * (n // 2) + [0], dtype=np.int64)
    xors = np.array([0xFFFFFFFFFFFFFFFE, 0x7FFFFFFFFFFFFFFF] * (n // 2), dtype=np.uint64)
    values = np.concatenate([np.zeros(1, np.uint64), np.bitwise_xor.accumulate(xors)]).view(np.float64)
    payload = encode_v1(ts, values)[HEADER.size :]
    assert len(payload) == math.ceil((128 + 144 * (n - 1)) / 8) <= payload_bounds(n)[1]
