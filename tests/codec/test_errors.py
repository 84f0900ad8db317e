"""Bad input and bad blobs raise CodecError with a reason; nothing crashes or over-allocates."""

import contextlib
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tscodec
from tscodec import _kernels, format_v2, reference, reference_v1
from tscodec.format import CodecError

TS = np.array([10, 20, 30, 45, 45, 5], dtype=np.int64)
VS = np.array([1.0, 1.5, np.nan, -0.0, 2.25, 1e300])
BLOB = tscodec.encode(TS, VS)
BLOB_V1 = reference_v1.encode(TS, VS)
IMPLEMENTATIONS = [_kernels, reference]
NAN = 0x7FF8000000000000


def with_checksum(blob: bytes) -> bytes:
    """A version 2 blob with its checksum recomputed, so a test reaches the checks behind it."""
    blob = bytearray(blob)
    blob[5:9] = format_v2.blob_crc(blob).to_bytes(4, "little")
    return bytes(blob)


def blob_around(count: int, body: bytes) -> bytes:
    """A version 2 blob with a valid header and checksum around any payload (timestamps 0, 1, 2 ...)."""
    summary = (count, 0, 0, max(count - 1, 0), 0, max(count - 1, 0), NAN, NAN, NAN, NAN, NAN)
    return with_checksum(format_v2.pack_header(count, len(body), summary) + body)


def outcome(implementation, blob: bytes) -> object:
    """What a reader makes of a blob: the decoded bits, or that it refused it."""
    try:
        ts, vs = implementation.decode(blob)
    except CodecError:
        return "refused"
    return ts.tolist(), vs.view(np.uint64).tolist()


def test_codec_error_is_a_value_error():
    assert issubclass(CodecError, ValueError)
    assert tscodec.CodecError is CodecError


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    ("timestamps", "values", "reason"),
    [
        (TS.astype(np.float64), VS, "timestamps must convert to int64 without loss, got dtype float64"),
        (TS.astype(np.uint64), VS, "got dtype uint64"),
        (TS.astype("datetime64[ns]"), VS, "got dtype datetime64"),
        (TS, VS.astype(np.complex128), "values must convert to float64 without loss, got dtype complex128"),
        (TS, TS, "values must convert to float64 without loss, got dtype int64"),
        (TS, [str(v) for v in VS], "got dtype <U"),
        (TS, VS[:-1], "timestamps has 6 points but values has 5"),
        (TS.reshape(2, 3), VS.reshape(2, 3), "timestamps must be 1-D, got shape (2, 3)"),
        (TS, VS.reshape(3, 2), "values must be 1-D, got shape (3, 2)"),
        (5, 1.0, "timestamps must be 1-D, got shape ()"),
    ],
)
def test_bad_input_is_rejected_with_the_reason(implementation, timestamps, values, reason):
    with pytest.raises(CodecError) as caught:
        implementation.encode(timestamps, values)
    assert reason in str(caught.value)


def test_more_points_than_a_blob_holds(monkeypatch):
    monkeypatch.setattr(format_v2, "MAX_COUNT", 5)
    with pytest.raises(CodecError, match="6 points: a blob holds at most 5; split the series"):
        reference.encode(TS, VS)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("blob", [BLOB, BLOB_V1], ids=["v2", "v1"])
def test_every_truncation_is_caught(implementation, blob):
    for cut in range(len(blob)):
        with pytest.raises(CodecError, match=r"truncated|payload bytes|cannot hold"):
            implementation.decode(blob[:cut])
        with pytest.raises(CodecError):
            tscodec.stats(blob[:cut])


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_trailing_bytes_are_caught(implementation):
    payload = len(BLOB) - format_v2.read_header(memoryview(BLOB)).header_size
    with pytest.raises(CodecError, match=f"blob has {payload + 1} payload bytes, header says {payload}"):
        implementation.decode(BLOB + b"\0")


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("blob", [BLOB, BLOB_V1], ids=["v2", "v1"])
def test_every_flipped_bit_is_caught(implementation, blob):
    for bit in range(8 * len(blob)):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CodecError):
            implementation.decode(bytes(flipped))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_wrong_magic(implementation):
    with pytest.raises(CodecError, match=r"not a tscodec blob: magic b'PK\\x03\\x04'"):
        implementation.decode(b"PK\x03\x04" + BLOB[4:])
    with pytest.raises(CodecError, match="not a tscodec blob"):
        tscodec.stats(b"PK\x03\x04" + BLOB[4:])


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_unknown_version(implementation):
    with pytest.raises(CodecError, match="unknown format version 3; this build reads 1, 2"):
        implementation.decode(BLOB[:4] + b"\x03" + BLOB[5:])
    with pytest.raises(CodecError, match="unknown format version 0"):
        tscodec.stats(BLOB[:4] + b"\x00")


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("count", [2**24 + 1, 2**40, 2**64 - 1])
def test_a_count_beyond_the_limit_is_refused_before_allocating(implementation, count):
    summary = (2**24, 0, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN)
    head = format_v2.pack_header(2**24, 1, summary)
    blob = with_checksum(head[:9] + bytes(format_v2_uvarint(count)) + head[13:] + b"\0")
    with pytest.raises(CodecError, match=f"header claims {count} points, more than the 16777216"):
        implementation.decode(blob)
    with pytest.raises(CodecError, match=f"header claims {count} points"):
        tscodec.stats(blob)


def format_v2_uvarint(value: int) -> bytearray:
    out = bytearray()
    format_v2.put_uvarint(out, value)
    return out


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(("count", "payload"), [(1, b"\0"), (2, b""), (0, b"\0")])
def test_a_payload_that_cannot_belong_to_the_count(implementation, count, payload):
    with pytest.raises(CodecError, match=f"header claims {count} points, which {len(payload)} payload bytes"):
        implementation.decode(blob_around(count, payload))


def test_more_nans_than_points():
    summary = (6, 7, 0, 0, 0, 0, NAN, NAN, NAN, NAN, NAN)
    with pytest.raises(CodecError, match="header claims 7 NaN values among 6 points"):
        tscodec.stats(with_checksum(format_v2.pack_header(6, 1, summary) + b"\0"))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(("low", "high"), [(6, 9), (5, 8), (2**62, 9)])
def test_a_time_range_that_does_not_hold_the_timestamps(implementation, low, high):
    body = bytes.fromhex("01 08 00 00 00 00")  # timestamps 5, 9; values 0.0, 0.0
    summary = (2, 0, low, high, 5, 9, NAN, NAN, NAN, NAN, NAN)
    blob = with_checksum(format_v2.pack_header(2, len(body), summary) + body)
    with pytest.raises(CodecError, match="time range"):
        implementation.decode(blob)
    with pytest.raises(CodecError, match="time range"):
        tscodec.stats(blob)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_non_bytes_blob_is_a_type_error(implementation):
    with pytest.raises(TypeError, match="blob must be bytes, got str"):
        implementation.decode("SFTS")


# Payloads of three points behind a valid header and checksum. The timestamp column
# "01 02" is a constant step of 1; then a value section, hand-made to break one rule.
TS_COLUMN = "01 02"
CRAFTED = [
    ("", "before the value section|ends inside a column"),
    ("10", "value section mode|unknown column or section mode"),
    ("02", "value section mode|unknown column or section mode"),
    ("00 13", "decimal exponent"),
    ("01 0c 00", "integer column mode|unknown column or section mode"),
    ("01 03 00", "integer column mode|unknown column or section mode"),
    ("01 00 ff ff ff ff ff ff ff ff ff 02", "varint"),  # bits beyond 64
    ("01 00 ff ff ff ff ff ff ff ff ff 80 01", "varint"),  # 11 bytes
    ("01 04 00 1c 01 00 00 00", "token layout|unknown column or section mode"),  # m = 3 > s = 4? w: 0
    ("01 04 00 14 00 00 00 00", "token layout|unknown column or section mode"),  # g = 0
    ("01 04 00 e4 01 00 00 00", "token layout|unknown column or section mode"),  # w = 7
    ("01 04 00 14 01 00 00 00", "precision|frequency table"),  # precision 0
    ("01 04 00 14 01 f1 1f 00", "token table|frequency table"),  # lo = 255, span = 1
    ("01 04 00 14 01 31 10 00 10 00 00 00 00 00", "rANS"),  # P=1 lo=3 span=1 d=3 f=1,1; state 0
    ("01 04 00 14 01 31 10 00 10 00 00 01 00 00", "rANS"),  # state 2**16, no words
    ("01 04 00 14 01 01 01 10 00", "padding|frequency table"),  # P=1 lo=16 span=0, pad bit set
    ("01 08 00 02 01 02 01 00 02", "positions|sparse"),  # sparse positions 1, 0
    ("01 08 00 05", "positions|non-zero residuals"),  # K = 5 > 3
    ("05 02 01 00 02 00 0a", "dictionary"),  # dictionary of 2, index 5
    ("05 05", "dictionary"),  # dictionary of 5 entries for 3 values
    ("00 00 00 80 80 80 80 80 80 80 08", "2\\*\\*51"),  # decimal 2**51
    ("08 00 00", "exceptions|positions"),  # 0 exceptions
    ("01 00 00 00", "follow the value section|bytes follow"),
]


@pytest.mark.parametrize(("values", "reason"), CRAFTED, ids=[v or "empty" for v, _ in CRAFTED])
def test_crafted_payloads_behind_a_valid_checksum(values, reason):
    blob = blob_around(3, bytes.fromhex(TS_COLUMN + " " + values))
    with pytest.raises(CodecError, match=reason):
        reference.decode(blob)
    with pytest.raises(CodecError):
        tscodec.decode(blob)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(2, 300))
def test_arbitrary_payloads_never_crash_and_both_readers_agree(payload, count):
    blob = blob_around(count, payload)
    assert outcome(_kernels, blob) == outcome(reference, blob)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.floats()), min_size=2, max_size=60), st.data())
def test_damaged_payloads_never_crash_and_both_readers_agree(points, data):
    ts, vs = (np.array(column) for column in zip(*points, strict=True))
    blob = bytearray(tscodec.encode(ts.astype(np.int64), vs.astype(np.float64)))
    start = format_v2.read_header(memoryview(blob)).header_size
    bit = data.draw(st.integers(8 * start, 8 * len(blob) - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    damaged = with_checksum(blob)
    assert outcome(_kernels, damaged) == outcome(reference, damaged)


# 2**20 points: constant columns; a sparse column cut short; and the most scratch a value section can
# take: 2**20 exceptions, a dictionary of 2**20 entries, and indices in a sparse column of 2**20 positions.
@pytest.mark.parametrize(
    "payload",
    [
        "01 02 01 00 00",
        "01 02 00 00 08 00 04 00 00 00 06",
        "01 02 0d 80 80 40 01 00 02 00 00 80 80 40 00 00 08 00 80 80 40 01 00 02 00 02",
    ],
)
def test_decoding_allocates_at_most_a_small_multiple_of_the_declared_size(payload):
    """RELIABILITY S2: Decoding allocates at most a small multiple of what the blob declares."""
    count = 2**20
    blob = blob_around(count, bytes.fromhex(payload))
    tracemalloc.start()
    try:
        with contextlib.suppress(CodecError):  # refusing is fine; only the memory used matters here
            _kernels.decode(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= (16 + 40) * count + 65536  # the result, and scratch as docs/CODEC.md bounds it


# ---- version 1 payloads, through the compiled and the reference kernels ----------------

KERNELS_V1 = [(_kernels.decode_payload_v1, "compiled"), (reference_v1.decode_payload, "reference")]


@pytest.mark.parametrize(("decode_payload", "_"), KERNELS_V1)
@pytest.mark.parametrize(
    ("stream", "count", "reason"),
    [
        ("0" * 128 + "0" + "10" + "1", 2, "reuses a window before any was set"),
        ("0" * 128 + "0" + "11" + "11111" + "100010", 2, "value window wider than 64 bits"),
        ("0" * 128 + "0" + "0" + "1", 2, "padding bits are not zero"),
        ("0" * 128 + "0" * 8, 1, "1 bytes follow the last point"),
        ("0" * 128 + "1111" + "0" * 60, 2, "truncated payload: it ends inside point 1"),
        ("0" * 120, 1, "truncated payload: it ends inside point 0"),
    ],
)
def test_corrupt_v1_payloads(decode_payload, _, stream, count, reason):
    stream += "0" * (-len(stream) % 8)
    payload = int(stream, 2).to_bytes(len(stream) // 8, "big")
    with pytest.raises(CodecError, match=reason):
        decode_payload(payload, np.empty(count, np.int64), np.empty(count, np.float64))


@pytest.mark.parametrize("count", [2**40, 2**64 - 1, 1_000])
def test_a_v1_count_the_payload_cannot_hold_is_refused_before_allocating(count):
    blob = BLOB_V1[:5] + struct.pack("<Q", count) + BLOB_V1[13:]
    for implementation in IMPLEMENTATIONS:
        with pytest.raises(CodecError, match=f"header claims {count} points"):
            implementation.decode(blob)
    with pytest.raises(CodecError, match=f"header claims {count} points"):
        tscodec.stats(blob)


def v1_outcome(decode_payload, payload: bytes, count: int) -> object:
    ts, vs = np.zeros(count, np.int64), np.zeros(count, np.float64)
    try:
        decode_payload(payload, ts, vs)
    except CodecError as error:
        return str(error)
    return ts.tolist(), vs.view(np.uint64).tolist()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 300))
def test_arbitrary_v1_payloads_never_crash_and_both_kernels_agree(payload, count):
    assert v1_outcome(_kernels.decode_payload_v1, payload, count) == v1_outcome(
        reference_v1.decode_payload, payload, count
    )
