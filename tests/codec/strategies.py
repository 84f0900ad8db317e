"""Hypothesis strategies for codec inputs: adversarial bit patterns and the shapes real series have."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

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


def as_float(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


@st.composite
def rng(draw: st.DrawFn) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


@st.composite
def dense(draw: st.DrawFn, n: int, dtype: type) -> np.ndarray:
    """Every element random (``arrays`` fills big arrays with one value), a third repeating the previous."""
    gen = draw(rng())
    info = np.iinfo(dtype)
    array = gen.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    keep = np.where(gen.random(n) < 1 / 3, 0, np.arange(n))
    return array[np.maximum.accumulate(keep)] if n else array


@st.composite
def timestamps(draw: st.DrawFn, n: int) -> np.ndarray:
    """Arbitrary int64s (any order, duplicates, extremes), or a sampled clock with jitter and gaps."""
    kind = draw(st.sampled_from(["sparse", "dense", "clock", "grid"]))
    if kind == "sparse":
        return draw(arrays(np.int64, n, elements=TIMESTAMP))
    if kind == "dense":
        return draw(dense(n, np.int64))
    start = np.uint64(draw(TIMESTAMP) % 2**64)
    step = np.uint64(draw(st.sampled_from([0, 1, 10**6, 10**9, 2**40, 2**63])))
    if kind == "grid":  # a regular clock, now and then a missed or repeated sample
        gen = draw(rng())
        ticks = np.cumsum(gen.choice([0, 1, 1, 1, 1, 1, 1, 1, 2], n)).astype(np.uint64)
        return (start + step * ticks).view(np.int64)
    jitter = draw(arrays(np.int64, n, elements=st.integers(-(2**40), 2**40), fill=st.just(0)))
    clock = start + step * np.arange(n, dtype=np.uint64) + jitter.astype(np.uint64)
    return clock.view(np.int64)


@st.composite
def values(draw: st.DrawFn, n: int) -> np.ndarray:
    """Any float64 bit pattern, or the shapes sensor, state and counter series have."""
    kind = draw(
        st.sampled_from(["sparse", "dense", "walk", "decimal", "constant", "states", "counter", "few"])
    )
    if kind == "sparse":
        return draw(arrays(np.uint64, n, elements=VALUE_BITS)).view(np.float64)
    if kind == "dense":
        raw = draw(dense(n, np.uint64))
        raw[raw % 5 == 0] |= np.uint64(0x7FF0000000000000)  # a fifth NaN or inf, payloads intact
        return raw.view(np.float64)
    if kind == "walk":
        steps = draw(arrays(np.int64, n, elements=st.integers(-500, 500)))
        scale = draw(st.sampled_from([1.0, 100.0, 1e4, 3.0]))
        return np.cumsum(steps) / scale
    if kind == "constant":
        return np.full(n, as_float(draw(VALUE_BITS)))
    gen = draw(rng())
    if kind == "decimal":
        return draw(decimals(n, gen))
    if kind == "states":
        return states(n, gen)
    if kind == "counter":
        return counter(n, gen)
    choices = np.array(draw(st.lists(VALUE_BITS, min_size=1, max_size=9)), dtype=np.uint64)
    return choices[gen.integers(0, len(choices), n)].view(np.float64)


@st.composite
def decimals(draw: st.DrawFn, n: int, gen: np.random.Generator) -> np.ndarray:
    """A noisy decimal signal at 0-18 decimals, with a few exceptions of any bit pattern injected."""
    e = draw(st.integers(0, 18))
    scale = draw(st.sampled_from([1, 7, 1000, 10**6, 10**12]))
    ints = np.cumsum(gen.integers(-scale, scale + 1, n)) + draw(st.integers(-(10**9), 10**9))
    out = ints / 10.0**e
    holes = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), VALUE_BITS), max_size=8)) if n else []
    bits = out.view(np.uint64)
    for i, b in holes:
        bits[i] = b
    return out


def states(n: int, gen: np.random.Generator) -> np.ndarray:
    """Machine states 0/1/2, each held for a random dwell time."""
    dwell = gen.integers(1, 200, n + 1)
    return np.repeat(gen.integers(0, 3, n + 1), dwell)[:n].astype(np.float64)


def counter(n: int, gen: np.random.Generator) -> np.ndarray:
    """A monotone counter (integer or decimal increments), now and then reset to zero."""
    steps = gen.integers(0, 2, n) if gen.random() < 0.5 else np.round(gen.random(n) * 2.5, 3)
    total = np.cumsum(steps)
    resets = np.flatnonzero(gen.random(n) < 0.002)
    for r in resets:
        total[r:] -= total[r]
    return np.round(total, 3).astype(np.float64)


@st.composite
def columns(draw: st.DrawFn, max_size: int) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.one_of(st.integers(0, 3), st.integers(0, max_size)))
    return draw(timestamps(n)), draw(values(n))
