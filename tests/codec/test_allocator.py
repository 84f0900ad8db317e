"""The compiled codec frees with the allocator it allocated with (PyMem_Raw*): under Python's debug
allocator a mismatch aborts the process (`munmap_chunk(): invalid pointer`), and tracemalloc (the fuzz
targets' memory bound, RELIABILITY S2) would count every block freed by libc as still held."""

from __future__ import annotations

import os
import subprocess
import sys

ROUND_TRIP = """
import numpy as np, tscodec
ts = np.arange(100_000, dtype=np.int64) * 10**9
values = np.round(np.random.default_rng(1).normal(60, 5, ts.size), 2)
blob = tscodec.encode(ts, values)
back_ts, back_values = tscodec.decode(blob)
assert (back_ts == ts).all() and (back_values == values).all()
parts = tscodec.bucket_parts([blob] * 3, np.array([0, 5 * 10**13, 10**14], dtype=np.int64), True)
assert parts["count"].sum() == 3 * ts.size
"""


def test_encode_decode_and_bucket_parts_pass_pythons_debug_allocator():
    env = {**os.environ, "PYTHONMALLOC": "malloc_debug"}
    done = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
