"""``bucket_parts``: the compiled kernel gives the rows its numpy definition (tscodec/summaries.py) gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tscodec
from tests.codec.strategies import INT64_MAX, INT64_MIN, columns
from tscodec import _kernels, summaries

EXACT_FIELDS = [f for f in summaries.PARTS.names if f not in ("sum", "m2")]


@st.composite
def edges(draw: st.DrawFn) -> np.ndarray:
    """Strictly increasing bucket edges: anywhere in int64, or around the points' usual range."""
    bound = st.one_of(st.integers(INT64_MIN, INT64_MAX), st.integers(-(10**6), 10**6))
    return np.array(sorted(draw(st.lists(bound, min_size=2, max_size=40, unique=True))), dtype=np.int64)


def assert_same_rows(got: np.ndarray, want: np.ndarray, with_m2: bool) -> None:
    assert got.dtype == want.dtype == summaries.PARTS and got.size == want.size
    for field in EXACT_FIELDS:  # equal (== does not tell -0.0 from 0.0)
        assert np.array_equal(got[field], want[field], equal_nan=True), field
    # Sums agree to rounding (numpy adds pairwise, the kernel in order); where adding overflows, the
    # order decides whether it does, so only finite sums are compared.
    finite = np.isfinite(want["sum"]) & np.isfinite(got["sum"])
    assert np.allclose(got["sum"][finite], want["sum"][finite], rtol=1e-9, atol=1e-300)
    if with_m2:
        assert np.allclose(got["m2"], want["m2"], rtol=1e-9, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(columns(max_size=300), max_size=5), cuts=edges())
def test_the_kernel_gives_the_reference_rows_for_any_points_and_edges(blocks, cuts):
    """Adversarial input: any timestamps (unsorted, repeated, extreme), any value bits (NaN, inf, -0.0)."""
    blobs = [tscodec.encode(ts, vs) for ts, vs in blocks]
    assert_same_rows(_kernels.bucket_parts(blobs, cuts), summaries.bucket_parts(blobs, cuts), False)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(0, 2000), min_size=1, max_size=6),
    buckets=st.integers(1, 50),
)
def test_sums_of_squares_match_for_sensor_like_values(seed, sizes, buckets):
    gen = np.random.default_rng(seed)
    blobs = []
    for n in sizes:
        ts = np.sort(gen.choice(10**7, n, replace=False)).astype(np.int64)
        vs = np.round(gen.normal(60, 5, n), 2)
        vs[gen.random(n) < 0.05] = np.nan
        blobs.append(tscodec.encode(ts, vs))
    cuts = np.unique(gen.integers(0, 10**7, buckets + 1)).astype(np.int64)
    if cuts.size < 2:
        cuts = np.array([0, 10**7], dtype=np.int64)
    got, want = _kernels.bucket_parts(blobs, cuts, True), summaries.bucket_parts(blobs, cuts, True)
    assert_same_rows(got, want, True)
    assert got["count"].sum() == sum(  # every point in range and not NaN counted once
        int(((t >= cuts[0]) & (t < cuts[-1]) & ~np.isnan(v)).sum()) for t, v in map(tscodec.decode, blobs)
    )


def test_one_row_per_block_and_bucket_with_where_extremes_first_occur():
    blob = tscodec.encode(np.array([5, 1, 3, 12, 15], np.int64), np.array([2.0, 7.0, 2.0, np.nan, 9.0]))
    rows = tscodec.bucket_parts([blob], np.array([0, 10, 20], np.int64), with_m2=True)
    assert rows[["bucket", "count", "min", "min_ts", "max", "max_ts"]].tolist() == [
        (0, 3, 2.0, 3, 7.0, 1),  # points taken in time order: 1 → 7.0, 3 → 2.0, 5 → 2.0
        (1, 1, 9.0, 15, 9.0, 15),  # the NaN at 12 counts nowhere
    ]
    assert rows[["first_ts", "first", "last_ts", "last"]].tolist() == [(1, 7.0, 5, 2.0), (15, 9.0, 15, 9.0)]
    assert rows["m2"].tolist() == pytest.approx([50 / 3, 0.0])


def test_edges_that_hold_no_point_and_no_blobs_give_no_rows():
    blob = tscodec.encode(np.array([1, 2], np.int64), np.array([1.0, 2.0]))
    assert tscodec.bucket_parts([blob], np.array([10, 20], np.int64)).size == 0
    assert tscodec.bucket_parts([], np.array([10, 20], np.int64)).size == 0
    assert tscodec.bucket_parts([blob], np.array([10], np.int64)).size == 0
