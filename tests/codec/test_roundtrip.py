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

import tscodec
from sf.bench.codec import load_series, skab_dir
from tests.codec.strategies import INT64_MAX, INT64_MIN, SPECIAL_BITS, columns, counter, states
from tscodec import _kernels, reference

IMPLEMENTATIONS = [_kernels, reference]


def assert_identical(got: tuple[np.ndarray, np.ndarray], ts: np.ndarray, vs: np.ndarray) -> None:
    got_ts, got_vs = got
    assert got_ts.dtype == np.int64 and got_vs.dtype == np.float64
    np.testing.assert_array_equal(got_ts, ts)
    np.testing.assert_array_equal(got_vs.view(np.uint64), vs.view(np.uint64))


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def roundtrip_both(ts, vs) -> bytes:
    """The blob, after checking both writers agree and both readers read it back exactly."""
    ts, vs = np.asarray(ts, np.int64), np.asarray(vs, np.float64)
    blob = tscodec.encode(ts, vs)
    assert reference.encode(ts, vs) == blob
    assert_identical(tscodec.decode(blob), ts, vs)
    assert_identical(reference.decode(blob), ts, vs)
    return blob


def test_the_compiled_module_is_live():
    assert tscodec.IMPLEMENTATION == "cython"
    assert tscodec.encode is _kernels.encode and tscodec.decode is _kernels.decode


def test_the_reference_takes_over_when_the_extension_is_missing():
    script = (
        "import sys; sys.modules['tscodec._kernels'] = None\n"  # makes the import fail
        "import tscodec\n"
        "assert tscodec.IMPLEMENTATION == 'python', tscodec.IMPLEMENTATION\n"
        "assert tscodec.decode(tscodec.encode([2, 1], [0.5, -0.0]))[0].tolist() == [2, 1]\n"
        "assert tscodec.bucket_parts([tscodec.encode([2, 1], [0.5, -0.0])], [0, 9])['count'].tolist() == [2]\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@settings(max_examples=200, deadline=None)
@given(columns(max_size=3000))
def test_decode_inverts_encode_bit_for_bit(data):
    ts, vs = data
    assert_identical(tscodec.decode(tscodec.encode(ts, vs)), ts, vs)


@settings(max_examples=150, deadline=None)
@given(columns(max_size=1500))
def test_reference_writes_the_same_bytes_and_each_reads_the_others(data):
    ts, vs = data
    blob = tscodec.encode(ts, vs)
    ours = reference.encode(ts, vs)
    assert ours == blob
    assert_identical(reference.decode(blob), ts, vs)
    assert_identical(tscodec.decode(ours), ts, vs)


@settings(max_examples=150, deadline=None)
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


def test_empty():
    blob = roundtrip_both([], [])
    assert tscodec.stats(blob).count == 0
    assert len(blob) == 11


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


@pytest.mark.parametrize("n", [2, 3, 4, 5, 63, 64, 65, 255, 256, 257, 1000])
def test_lengths_around_every_threshold(n):
    gen = np.random.default_rng(n)
    roundtrip_both(np.cumsum(gen.integers(1, 3, n)) * 10**9, np.round(gen.normal(20, 3, n), 2))
    roundtrip_both(
        gen.integers(INT64_MIN, INT64_MAX, n), gen.integers(0, 2**64, n, np.uint64).view(np.float64)
    )


def test_special_floats():
    vs = np.array(SPECIAL_BITS * 3, dtype=np.uint64).view(np.float64)
    roundtrip_both(np.arange(len(vs)) * 10**9, vs)


def test_special_floats_among_decimals():
    vs = np.round(np.linspace(0, 50, 500), 2)
    vs.view(np.uint64)[::37] = SPECIAL_BITS
    roundtrip_both(np.arange(500) * 10**9, vs)


def test_unsorted_duplicated_and_extreme_timestamps_keep_their_order():
    ts = [5, 3, 3, INT64_MAX, INT64_MIN, 0, INT64_MAX, -1, INT64_MIN, 3]
    roundtrip_both(ts, np.linspace(0, 1, len(ts)))
    roundtrip_both([INT64_MAX, INT64_MIN], [1.0, 2.0])
    roundtrip_both([INT64_MIN, INT64_MAX, INT64_MIN], [1.0, 2.0, 3.0])


def test_states_and_counters():
    gen = np.random.default_rng(7)
    ts = 1_700_000_000 * 10**9 + np.arange(5000) * 10**9
    roundtrip_both(ts, states(5000, gen))
    roundtrip_both(ts, counter(5000, gen))


def test_plain_python_lists_and_narrow_dtypes_are_accepted():
    ts, vs = tscodec.decode(tscodec.encode([1, 2, 3], np.array([0.5, 1, 2], dtype=np.float32)))
    assert ts.tolist() == [1, 2, 3] and vs.tolist() == [0.5, 1.0, 2.0]
    ts, vs = tscodec.decode(tscodec.encode(np.array([7], dtype=np.uint32), np.array([3], dtype=np.int16)))
    assert ts.tolist() == [7] and vs.tolist() == [3.0]


def test_non_contiguous_input():
    ts = np.arange(100, dtype=np.int64)[::-3]
    vs = np.linspace(0, 1, 200)[::6]
    roundtrip_both(ts, vs)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_any_bytes_like_blob_decodes(implementation):
    blob = tscodec.encode([1, 2, 3], [4.0, 5.5, 6.0])
    for form in (blob, bytearray(blob), memoryview(blob)):
        assert implementation.decode(form)[1].tolist() == [4.0, 5.5, 6.0]


def test_real_skab_series():
    path = skab_dir() / "valve1" / "0.csv"
    if not path.exists():
        pytest.skip(f"SKAB data not found at {path}; set SF_SKAB_DIR")
    series = load_series(path)
    assert "Accelerometer1RMS" in series and "datetime" not in series
    for ts, vs in series.values():
        blob = roundtrip_both(ts, vs)
        assert len(blob) < (ts.nbytes + vs.nbytes) / 4
