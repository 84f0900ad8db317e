"""tscodec gives back exactly what it was given, and both implementations agree byte for byte."""

import functools
import math
import operator
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tscodec
from sf.bench.codec import load_series, skab_dir
from tscodec import _gorilla, reference

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SPECIAL_BITS = [
    0x0000000000000000,  # 0.0
    0x8000000000000000,  # -0.0
    0x7FF0000000000000,  # inf
    0xFFF0000000000000,  # -inf
    0x7FF8000000000000,  # canonical quiet NaN
    0xFFF8000000000000,  # negative quiet NaN
    0x7FF8DEAD00000001,  # NaN with a payload
    0x7FF0000000000001,  # signalling NaN
    0x7FF4000000000000,  # signalling NaN
    0x0000000000000001,  # smallest subnormal
    0x000FFFFFFFFFFFFF,  # largest subnormal
    0x0010000000000000,  # smallest normal
    0x7FEFFFFFFFFFFFFF,  # largest finite
    0x3FF0000000000000,  # 1.0
]

TIMESTAMP = st.one_of(st.integers(INT64_MIN, INT64_MAX), st.sampled_from([INT64_MIN, INT64_MAX, 0, -1, 1]))
VALUE_BITS = st.one_of(
    st.integers(0, 2**64 - 1),
    st.integers(0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF),  # every positive NaN payload
    st.integers(0xFFF0000000000001, 0xFFFFFFFFFFFFFFFF),  # every negative NaN payload
    st.sampled_from(SPECIAL_BITS),
)


@st.composite
def dense(draw: st.DrawFn, n: int, dtype: type) -> np.ndarray:
    """Every element random (``arrays`` fills big arrays with one value), a third repeating the previous."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    info = np.iinfo(dtype)
    array = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    keep = np.where(rng.random(n) < 1 / 3, 0, np.arange(n))
    return array[np.maximum.accumulate(keep)] if n else array


@st.composite
def timestamps(draw: st.DrawFn, n: int) -> np.ndarray:
    """Arbitrary int64s (any order, duplicates, extremes), or a sampled clock with jitter and gaps."""
    kind = draw(st.sampled_from(["sparse", "dense", "clock"]))
    if kind == "sparse":
        return draw(arrays(np.int64, n, elements=TIMESTAMP))
    if kind == "dense":
        return draw(dense(n, np.int64))
    start = np.uint64(draw(TIMESTAMP) % 2**64)
    step = np.uint64(draw(st.sampled_from([0, 1, 10**6, 10**9, 2**40, 2**63])))
    jitter = draw(arrays(np.int64, n, elements=st.integers(-(2**40), 2**40), fill=st.just(0)))
    clock = start + step * np.arange(n, dtype=np.uint64) + jitter.astype(np.uint64)
    return clock.view(np.int64)


@st.composite
def values(draw: st.DrawFn, n: int) -> np.ndarray:
    """Any float64 bit pattern (drawn as uint64), or a decimal random walk like a sensor's."""
    kind = draw(st.sampled_from(["sparse", "dense", "walk"]))
    if kind == "sparse":
        return draw(arrays(np.uint64, n, elements=VALUE_BITS)).view(np.float64)
    if kind == "dense":
        raw = draw(dense(n, np.uint64))
        raw[raw % 5 == 0] |= np.uint64(0x7FF0000000000000)  # a fifth NaN or inf, payloads intact
        return raw.view(np.float64)
    steps = draw(arrays(np.int64, n, elements=st.integers(-500, 500)))
    scale = draw(st.sampled_from([1.0, 100.0, 1e4, 3.0]))
    return np.cumsum(steps) / scale


@st.composite
def columns(draw: st.DrawFn, max_size: int) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.one_of(st.integers(0, 3), st.integers(0, max_size)))
    return draw(timestamps(n)), draw(values(n))


def assert_identical(got: tuple[np.ndarray, np.ndarray], ts: np.ndarray, vs: np.ndarray) -> None:
    got_ts, got_vs = got
    assert got_ts.dtype == np.int64 and got_vs.dtype == np.float64
    np.testing.assert_array_equal(got_ts, ts)
    np.testing.assert_array_equal(got_vs.view(np.uint64), vs.view(np.uint64))


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def test_the_compiled_module_is_live():
    assert tscodec.IMPLEMENTATION == "cython"


def test_the_reference_takes_over_when_the_extension_is_missing():
    script = (
        "import sys; sys.modules['tscodec._gorilla'] = None\n"  # makes the import fail
        "import tscodec\n"
        "assert tscodec.IMPLEMENTATION == 'python', tscodec.IMPLEMENTATION\n"
        "assert tscodec.decode(tscodec.encode([2, 1], [0.5, -0.0]))[0].tolist() == [2, 1]\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@settings(max_examples=200, deadline=None)
@given(columns(max_size=3000))
def test_decode_inverts_encode_bit_for_bit(data):
    ts, vs = data
    assert_identical(tscodec.decode(tscodec.encode(ts, vs)), ts, vs)


@settings(max_examples=200, deadline=None)
@given(columns(max_size=2000))
def test_reference_writes_the_same_bytes_and_reads_the_compiled_ones(data):
    ts, vs = data
    blob = tscodec.encode(ts, vs)
    assert reference.encode(ts, vs) == blob
    assert_identical(reference.decode(blob), ts, vs)
    assert_identical(tscodec.decode(reference.encode(ts, vs)), ts, vs)


@settings(max_examples=200, deadline=None)
@given(columns(max_size=3000))
def test_stats_match_numpy(data):
    ts, vs = data
    got = tscodec.stats(tscodec.encode(ts, vs))
    numbers = vs[~np.isnan(vs)]
    assert got.count == len(ts)
    assert got.nan_count == len(ts) - len(numbers)
    if len(ts):
        assert (got.min_ts, got.max_ts) == (ts.min(), ts.max())
        assert (got.first_ts, got.last_ts) == (ts[0], ts[-1])
        assert (bits(got.first), bits(got.last)) == (vs.view(np.uint64)[0], vs.view(np.uint64)[-1])
    if len(numbers):
        assert got.min == numbers.min() and got.max == numbers.max()
        # The format fixes the summation order (left to right), so it can be checked exactly.
        assert bits(got.sum) == bits(functools.reduce(operator.add, numbers.tolist()))
        if np.isfinite(numbers).all() and np.abs(numbers).max() < 1e100:
            tolerance = 4 * len(numbers) * np.finfo(np.float64).eps * np.abs(numbers).sum()
            assert math.isclose(got.sum, np.sum(numbers), rel_tol=0, abs_tol=tolerance)
    else:
        assert math.isnan(got.min) and math.isnan(got.max) and math.isnan(got.sum)


@settings(max_examples=200, deadline=None)
@given(columns(max_size=2000))
def test_both_kernels_summarize_alike(data):
    ts, vs = data
    assert _gorilla.summarize(ts, vs) == reference.summarize(ts, vs)


def roundtrip_both(ts, vs) -> bytes:
    ts, vs = np.asarray(ts, np.int64), np.asarray(vs, np.float64)
    blob = tscodec.encode(ts, vs)
    assert reference.encode(ts, vs) == blob
    assert_identical(tscodec.decode(blob), ts, vs)
    assert_identical(reference.decode(blob), ts, vs)
    return blob


def test_empty():
    blob = roundtrip_both([], [])
    assert tscodec.stats(blob).count == 0
    assert len(blob) == 105


def test_single_point():
    blob = roundtrip_both([1_700_000_000_000_000_000], [21.5])
    got = tscodec.stats(blob)
    assert (got.count, got.min_ts, got.max_ts, got.min, got.max, got.sum) == (
        1,
        1_700_000_000_000_000_000,
        1_700_000_000_000_000_000,
        21.5,
        21.5,
        21.5,
    )


def test_regular_one_second_series_costs_two_bits_a_point():
    ts = 1_583_748_873 * 10**9 + 10**9 * np.arange(10_000, dtype=np.int64)
    blob = roundtrip_both(ts, np.full(10_000, 79.3366))
    # point 0 raw (128 bits); point 1: 1e9 ns delta-of-delta ('1110' + 36) and an equal value ('0')
    payload_bits = 128 + 41 + 2 * 9_998
    assert len(blob) == 105 + math.ceil(payload_bits / 8)


def test_special_floats():
    vs = np.array(SPECIAL_BITS * 3, dtype=np.uint64).view(np.float64)
    roundtrip_both(np.arange(len(vs)) * 10**9, vs)


def test_unsorted_duplicated_and_extreme_timestamps_keep_their_order():
    ts = [5, 3, 3, INT64_MAX, INT64_MIN, 0, INT64_MAX, -1, INT64_MIN, 3]
    roundtrip_both(ts, np.linspace(0, 1, len(ts)))


def test_plain_python_lists_and_narrow_dtypes_are_accepted():
    ts, vs = tscodec.decode(tscodec.encode([1, 2, 3], np.array([0.5, 1, 2], dtype=np.float32)))
    assert ts.tolist() == [1, 2, 3] and vs.tolist() == [0.5, 1.0, 2.0]
    ts, vs = tscodec.decode(tscodec.encode(np.array([7], dtype=np.uint32), np.array([3], dtype=np.int16)))
    assert ts.tolist() == [7] and vs.tolist() == [3.0]


def test_non_contiguous_input():
    ts = np.arange(100, dtype=np.int64)[::-3]
    vs = np.linspace(0, 1, 200)[::6]
    roundtrip_both(ts, vs)


def test_a_real_skab_series():
    path = skab_dir() / "valve1" / "0.csv"
    if not path.exists():
        pytest.skip(f"SKAB data not found at {path}; set SF_SKAB_DIR")
    series = load_series(path)
    assert "Accelerometer1RMS" in series and "datetime" not in series
    for ts, vs in series.values():
        blob = roundtrip_both(ts, vs)
        assert len(blob) < ts.nbytes + vs.nbytes
