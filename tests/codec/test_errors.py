"""Bad input and bad blobs raise CodecError with a reason; nothing crashes or over-allocates."""

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tscodec
from tscodec import _gorilla, reference
from tscodec.format import CRC_OFFSET, HEADER, CodecError, seal

TS = np.array([10, 20, 30, 45, 45, 5], dtype=np.int64)
VS = np.array([1.0, 1.5, np.nan, -0.0, 2.25, 1e300])
BLOB = tscodec.encode(TS, VS)
CODECS = [tscodec, reference]
KERNELS = [_gorilla, reference]


def with_checksum(blob: bytes) -> bytes:
    """The blob with its CRC recomputed, so a test reaches the checks behind it."""
    crc = zlib.crc32(blob[HEADER.size :], zlib.crc32(blob[:CRC_OFFSET]))
    return blob[:CRC_OFFSET] + struct.pack("<I", crc) + blob[HEADER.size :]


def with_field(blob: bytes, offset: int, fmt: str, value: int) -> bytes:
    return with_checksum(blob[:offset] + struct.pack(fmt, value) + blob[offset + struct.calcsize(fmt) :])


def test_codec_error_is_a_value_error():
    assert issubclass(CodecError, ValueError)
    assert tscodec.CodecError is CodecError


@pytest.mark.parametrize("codec", CODECS)
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
def test_bad_input_is_rejected_with_the_reason(codec, timestamps, values, reason):
    with pytest.raises(CodecError) as caught:
        codec.encode(timestamps, values)
    assert reason in str(caught.value)


@pytest.mark.parametrize("codec", CODECS)
def test_every_truncation_is_caught(codec):
    for cut in range(len(BLOB)):
        with pytest.raises(CodecError, match=r"truncated|payload bytes|cannot hold"):
            codec.decode(BLOB[:cut])
        with pytest.raises(CodecError):
            codec.stats(BLOB[:cut])


@pytest.mark.parametrize("codec", CODECS)
def test_trailing_bytes_are_caught(codec):
    payload = len(BLOB) - HEADER.size
    with pytest.raises(CodecError, match=f"blob has {payload + 1} payload bytes, header says {payload}"):
        codec.decode(BLOB + b"\0")


@pytest.mark.parametrize("codec", CODECS)
def test_every_flipped_bit_is_caught(codec):
    for bit in range(8 * len(BLOB)):
        flipped = bytearray(BLOB)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CodecError):
            codec.decode(bytes(flipped))


@pytest.mark.parametrize("codec", CODECS)
def test_wrong_magic(codec):
    with pytest.raises(CodecError, match=r"not a tscodec blob: magic b'PK\\x03\\x04'"):
        codec.decode(b"PK\x03\x04" + BLOB[4:])
    with pytest.raises(CodecError, match="not a tscodec blob"):
        codec.stats(b"PK\x03\x04" + BLOB[4:])


@pytest.mark.parametrize("codec", CODECS)
def test_unknown_version(codec):
    with pytest.raises(CodecError, match="unknown format version 2; this build reads 1"):
        codec.decode(BLOB[:4] + b"\x02" + BLOB[5:])
    with pytest.raises(CodecError, match="unknown format version 0"):
        codec.stats(BLOB[:4] + b"\x00")


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("count", [2**40, 2**64 - 1, 1_000])
def test_a_count_the_payload_cannot_hold_is_refused_before_allocating(codec, count):
    blob = with_field(BLOB, 5, "<Q", count)
    with pytest.raises(CodecError, match=f"header claims {count} points"):
        codec.decode(blob)
    with pytest.raises(CodecError, match=f"header claims {count} points"):
        codec.stats(blob)


@pytest.mark.parametrize("codec", CODECS)
def test_more_nans_than_points(codec):
    with pytest.raises(CodecError, match="header claims 7 NaN values among 6 points"):
        codec.stats(with_field(BLOB, 13, "<Q", 7))


@pytest.mark.parametrize("codec", CODECS)
def test_non_bytes_blob_is_a_type_error(codec):
    with pytest.raises(TypeError, match="blob must be bytes, got str"):
        codec.decode("SFTS")


@pytest.mark.parametrize("kernel", KERNELS)
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
def test_corrupt_payloads_behind_a_valid_checksum(kernel, stream, count, reason):
    stream += "0" * (-len(stream) % 8)
    payload = int(stream, 2).to_bytes(len(stream) // 8, "big")
    with pytest.raises(CodecError, match=reason):
        kernel.decode_payload(payload, np.empty(count, np.int64), np.empty(count, np.float64))


def test_a_crafted_blob_with_a_valid_checksum_still_fails_cleanly():
    summary = (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    blob = seal(summary, bytes(16) + b"\x40")  # point 1: dod '0', then value '10' with no window yet
    with pytest.raises(CodecError, match="reuses a window"):
        tscodec.decode(blob)


def outcome(kernel, payload: bytes, count: int) -> object:
    """What a kernel makes of a payload: the decoded bits or the error message."""
    ts, vs = np.zeros(count, np.int64), np.zeros(count, np.float64)
    try:
        kernel.decode_payload(payload, ts, vs)
    except CodecError as error:
        return str(error)
    return ts.tolist(), vs.view(np.uint64).tolist()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 300))
def test_arbitrary_payloads_never_crash_and_both_kernels_agree(payload, count):
    assert outcome(_gorilla, payload, count) == outcome(reference, payload, count)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.floats()), min_size=1, max_size=40), st.data())
def test_damaged_payloads_never_crash_and_both_kernels_agree(points, data):
    ts, vs = (np.array(column) for column in zip(*points, strict=True))
    payload = bytearray(_gorilla.encode_payload(ts.astype(np.int64), vs.astype(np.float64)))
    bit = data.draw(st.integers(0, 8 * len(payload) - 1))
    payload[bit // 8] ^= 1 << (bit % 8)
    count = data.draw(st.integers(0, len(points) + 2))
    assert outcome(_gorilla, bytes(payload), count) == outcome(reference, bytes(payload), count)
