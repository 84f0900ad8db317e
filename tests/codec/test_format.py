"""Version 2 blobs match docs/CODEC.md: the examples byte for byte, every header field, each mode."""

import math
import struct

import numpy as np
import pytest

import tscodec
from tests.codec.strategies import states
from tscodec import format_v2, reference, reference_ints

NAN_BITS = 0x7FF8000000000000


def f64(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def uvarint(blob: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = blob[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def unzz(z: int) -> int:
    return (z >> 1) ^ -(z & 1)


def header(blob: bytes) -> dict[str, int]:
    """The header fields, read by the table in docs/CODEC.md section 2 (independently of format_v2)."""
    fields = {"magic": blob[:4], "version": blob[4], "crc": struct.unpack_from("<I", blob, 5)[0]}
    fields["count"], pos = uvarint(blob, 9)
    fields["payload_bytes"], pos = uvarint(blob, pos)
    if fields["count"]:
        fields["nan_count"], pos = uvarint(blob, pos)
        fields["first_ts"] = struct.unpack_from("<q", blob, pos)[0]
        span, pos = uvarint(blob, pos + 8)
        below, pos = uvarint(blob, pos)
        above, pos = uvarint(blob, pos)
        fields["last_ts"] = fields["first_ts"] + unzz(span)
        fields["min_ts"], fields["max_ts"] = fields["first_ts"] - below, fields["last_ts"] + above
        for name in ("first", "last", "min", "max", "sum"):
            fields[name] = struct.unpack_from("<Q", blob, pos)[0]
            pos += 8
    fields["header_size"] = pos
    return fields


def payload(blob: bytes) -> bytes:
    return blob[header(blob)["header_size"] :]


def test_public_constants():
    assert tscodec.MAGIC == b"SFTS"
    assert tscodec.FORMAT_VERSION == 2
    assert format_v2.MAX_COUNT == 2**24


def test_crc32c_check_value():
    assert format_v2.crc32c(b"123456789") == 0xE3069283


def test_the_first_example_byte_for_byte():
    blob = tscodec.encode([k * 10**9 for k in range(1, 6)], [20.5, 20.5, 20.75, 20.5, 21.0])
    expected = (
        "53 46 54 53 02 ae b4 88 5c 05 12 00 00 ca 9a 3b 00 00 00 00 80 a0 d9 e6 1d 00 00"
        " 00 00 00 00 00 80 34 40 00 00 00 00 00 00 35 40 00 00 00 00 00 80 34 40"
        " 00 00 00 00 00 00 35 40 00 00 00 00 00 d0 59 40"
        " 01 80 a8 d6 b9 07 00 02 08 84 20 02 01 04 04 01 32 32"
    )
    assert blob == bytes.fromhex(expected)


def test_the_second_example_byte_for_byte():
    blob = tscodec.encode(np.arange(10) * 10**9, [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0])
    assert payload(blob) == bytes.fromhex(
        "01 80 a8 d6 b9 07 00 00 05 06 01 14 01 04 b0 a0 70 11 87 8b 03 2e 0e 17 e2 00 40 00 01 fa 25"
    )


def test_every_header_field_where_the_spec_puts_it():
    ts = np.array([30, 10, 50, 20], dtype=np.int64)
    vs = np.array([2.5, np.nan, -1.0, 4.0])
    blob = tscodec.encode(ts, vs)
    got = header(blob)
    assert (got["magic"], got["version"], got["count"], got["nan_count"]) == (b"SFTS", 2, 4, 1)
    assert (got["first_ts"], got["last_ts"], got["min_ts"], got["max_ts"]) == (30, 20, 10, 50)
    assert [got[k] for k in ("first", "last", "min", "max", "sum")] == [
        f64(2.5),
        f64(4.0),
        f64(-1.0),
        f64(4.0),
        f64(5.5),
    ]
    assert got["payload_bytes"] == len(blob) - got["header_size"]
    assert got["crc"] == format_v2.crc32c(blob[9:], format_v2.crc32c(blob[:5]))


@pytest.mark.parametrize(
    "ts", [[2**63 - 1, -(2**63)], [-(2**63), 2**63 - 1], [0, 2**63 - 1, -(2**63), 5], [7, 7, 7]]
)
def test_time_ranges_wider_than_int64_differences(ts):
    got = tscodec.stats(tscodec.encode(ts, [0.0] * len(ts)))
    assert (got.first_ts, got.last_ts, got.min_ts, got.max_ts) == (ts[0], ts[-1], min(ts), max(ts))


def test_an_empty_block():
    blob = tscodec.encode([], [])
    assert blob[:5] == b"SFTS\x02" and blob[9:] == b"\x00\x00"
    got = tscodec.stats(blob)
    assert (got.count, got.nan_count, got.min_ts, got.max_ts, got.first_ts, got.last_ts) == (0, 0, 0, 0, 0, 0)
    assert all(math.isnan(v) for v in (got.min, got.max, got.sum, got.first, got.last))


def test_one_point_lives_in_the_header():
    blob = tscodec.encode([123], [np.float64(-0.0)])
    assert header(blob)["payload_bytes"] == 0
    ts, vs = tscodec.decode(blob)
    assert ts.tolist() == [123] and vs.view(np.uint64).tolist() == [f64(-0.0)]


def test_all_nan_values_keep_first_and_last_but_have_no_min_max_sum():
    nans = np.array([0x7FF8DEAD00000001, 0xFFF0000000000001], dtype=np.uint64).view(np.float64)
    blob = tscodec.encode([1, 2], nans)
    got = header(blob)
    assert (got["count"], got["nan_count"]) == (2, 2)
    assert [got[name] for name in ("min", "max", "sum")] == [NAN_BITS] * 3
    assert (got["first"], got["last"]) == (0x7FF8DEAD00000001, 0xFFF0000000000001)


def test_min_max_sum_follow_the_written_rules():
    got = tscodec.stats(tscodec.encode([3, 1, 2, 0], [0.0, -0.0, np.nan, -0.0]))
    assert (f64(got.min), f64(got.max), f64(got.sum)) == (f64(0.0), f64(0.0), f64(0.0))
    got = tscodec.stats(tscodec.encode([0, 1, 2], [-0.0, 0.0, -0.0]))
    assert (f64(got.min), f64(got.max), f64(got.sum)) == (f64(-0.0), f64(-0.0), f64(0.0))
    got = tscodec.stats(tscodec.encode([0, 1, 2], [np.inf, 1.0, -np.inf]))
    assert (got.min, got.max, got.nan_count) == (-np.inf, np.inf, 0) and math.isnan(got.sum)


def test_stats_reads_only_the_header():
    blob = tscodec.encode([1, 2, 3], [4.0, 5.0, 6.0])
    damaged = blob[:-1] + bytes([blob[-1] ^ 0x80])
    assert tscodec.stats(damaged) == tscodec.stats(blob)
    with pytest.raises(tscodec.CodecError, match="checksum mismatch"):
        tscodec.decode(damaged)


def test_a_regular_clock_and_a_constant_cost_a_few_bytes_whatever_the_length():
    ts = 1_700_000_000 * 10**9 + 10**9 * np.arange(100_000, dtype=np.int64)
    blob = tscodec.encode(ts, np.full(100_000, 79.3366))
    # timestamps: mode + step (6 bytes); values: mode, e = 4, then a constant column of 793366 (4 bytes)
    assert len(payload(blob)) == 6 + 2 + 4
    assert payload(blob)[:6] == bytes.fromhex("01 80 a8 d6 b9 07")


def test_states_and_part_counters_take_a_small_fraction_of_a_byte_per_point():
    gen = np.random.default_rng(3)
    ts = 10**9 * np.arange(20_000, dtype=np.int64)
    parts = np.cumsum(gen.random(20_000) < 1 / 45).astype(np.float64)  # a part every 45 s or so
    assert len(tscodec.encode(ts, states(20_000, gen))) < 0.05 * 20_000
    assert len(tscodec.encode(ts, parts)) < 0.2 * 20_000


def value_mode(blob: bytes) -> int:
    body = payload(blob)
    ts_mode = body[0]
    assert ts_mode == 0x01, "these tests use a regular clock, a constant timestamp column"
    _, pos = uvarint(body, 1)
    return body[pos]


def clock(n: int) -> np.ndarray:
    return 10**9 * np.arange(n, dtype=np.int64)


def test_decimals_become_integers():
    blob = tscodec.encode(clock(500), np.round(np.random.default_rng(1).normal(20, 2, 500), 3))
    assert value_mode(blob) == 0x00
    body = payload(blob)
    assert body[body.index(0x00, 6) + 1] == 3  # e = 3


def test_values_that_are_not_decimal_become_exceptions():
    vs = np.round(np.linspace(0, 10, 500), 2)
    vs[[7, 300]] = [np.nan, -0.0]
    assert value_mode(tscodec.encode(clock(500), vs)) == 0x08


def test_a_series_that_is_not_decimal_uses_the_float_bits():
    vs = np.random.default_rng(2).random(500)
    assert value_mode(tscodec.encode(clock(500), vs)) == 0x01


def test_few_distinct_values_far_apart_use_a_dictionary():
    levels = np.array([-0.273216, 0.054711, 0.382638, 0.710565])
    vs = levels[np.random.default_rng(4).integers(0, 4, 1000)]
    assert value_mode(tscodec.encode(clock(1000), vs)) == 0x04


@pytest.mark.parametrize(
    ("mode", "order", "kind"),
    [(0x00, 0, 0), (0x01, 1, 0), (0x06, 2, 1), (0x09, 1, 2)],
)
def test_integer_column_modes_decode_as_specified(mode, order, kind):
    # Columns hand-built from the spec, decoded by both readers.
    columns = {
        0x00: (bytes([0x00, 0x0A]), [5, 5, 5]),  # order 0 constant: centre 5
        0x01: (bytes([0x01, 0x02, 0x06]), [1, 4, 7]),  # order 1 constant: h0 = 1, step 3
        # order 2 dense: h0 = 0, h1 = 1, centre 0; s=2 m=0 w=0; g = 2; table P=1 lo=2 span=0: every
        # token is 2, so z = 2, residual 0 + 2 * unzz(2) = 2: the squares
        0x06: (bytes([0x06, 0x00, 0x02, 0x00, 0x02, 0x02]) + bytes([0x21, 0x00, 0x00]), [0, 1, 4, 9]),
        # order 1 sparse: h0 = 0, centre 1; K = 1; positions: order 0 constant 1; offsets: constant 10
        0x09: (bytes([0x09, 0x00, 0x02, 0x01, 0x00, 0x02, 0x00, 0x14]), [0, 1, 12, 13]),
    }
    column, expected = columns[mode]
    assert column[0] & 3 == order and column[0] >> 2 == kind
    assert reference_ints.decode_ints(column, 0, len(expected)) == (expected, len(column))
    blob = build_blob(len(expected), bytes([0x01, 0x02]) + bytes([0x00, 0x00]) + column)
    values = tscodec.decode(blob)[1].tolist()
    assert values == [float(v) for v in expected]
    assert reference.decode(blob)[1].tolist() == values


def build_blob(count: int, body: bytes) -> bytes:
    """A version 2 blob around a hand-made payload (timestamps 0, 1, 2 ... in it), checksum set."""
    summary = (count, 0, 0, count - 1, 0, count - 1, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS, NAN_BITS)
    blob = format_v2.pack_header(count, len(body), summary) + body
    blob[5:9] = format_v2.blob_crc(blob).to_bytes(4, "little")
    return bytes(blob)
