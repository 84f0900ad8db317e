"""Fuzzing: random and mutated blobs are decoded or refused with CodecError, alike by both readers.

A short run is part of ``make test``; ``make test-long`` runs a million inputs (marker ``long``).
"""

import random
import resource
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tscodec
from tests.codec.fuzzing import mutate, outcome, random_blob, seeds
from tscodec import format_v1, format_v2, reference
from tscodec.format import CodecError, as_view, version_of

SEEDS = seeds()


def stats_outcome(read, blob: bytes) -> object:
    """The statistics with floats as bits (NaN equals NaN), or that the header was refused."""
    try:
        got = read(blob)
    except CodecError:
        return "refused"
    return [struct.pack("<d", v) if isinstance(v, float) else v for v in vars(got).values()]


def python_stats(blob: bytes) -> tscodec.BlockStats:
    view = as_view(blob)
    return format_v1.read_stats(view) if version_of(view) == 1 else format_v2.read_stats(view)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_mutated_blobs_are_decoded_or_refused_alike(blob, rnd):
    """RELIABILITY S2: Mutated blobs are decoded or refused with CodecError, alike by both readers (and their
    headers read alike by the compiled and the Python header readers)."""
    damaged = mutate(blob, rnd, SEEDS)
    assert outcome(tscodec.decode, damaged) == outcome(reference.decode, damaged)
    assert stats_outcome(tscodec.stats, damaged) == stats_outcome(python_stats, damaged)


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_blobs_are_decoded_or_refused_alike(rnd):
    """RELIABILITY S2: Random blobs are decoded or refused with CodecError, alike by both readers."""
    blob = random_blob(rnd)
    assert outcome(tscodec.decode, blob) == outcome(reference.decode, blob)
    assert stats_outcome(tscodec.stats, blob) == stats_outcome(python_stats, blob)


@pytest.mark.long
def test_a_million_mutated_and_random_blobs():
    """RELIABILITY S2: 1,000,000 inputs through the compiled reader; every 100th through the reference too.

    No crash (the process would die), no hang (each decode well under a second), no error but
    CodecError, and no memory growth beyond what the largest declared block needs.
    """
    rnd = random.Random(20260101)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    slowest = refused = 0
    for i in range(1_000_000):
        blob = random_blob(rnd) if i % 10 == 0 else mutate(rnd.choice(SEEDS), rnd, SEEDS)
        start = time.perf_counter()
        got = outcome(tscodec.decode, blob)
        slowest = max(slowest, time.perf_counter() - start)
        refused += got == "refused"
        read = stats_outcome(tscodec.stats, blob)
        if i % 100 == 0:
            assert got == outcome(reference.decode, blob), blob.hex()
            assert read == stats_outcome(python_stats, blob), blob.hex()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert slowest < 1.0
    assert grown_kib < 1_000_000  # a block of 2**24 points decodes to 256 MiB
    assert 0.3 < refused / 1_000_000 < 1.0  # most inputs reach the payload readers and fail there
