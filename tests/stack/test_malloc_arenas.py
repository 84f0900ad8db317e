"""`sf serve` caps glibc's malloc arenas (services/runtime/memory.py): threads share two, not one each."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt and malloc_stats")

# Eight threads allocate and free megabyte buffers at once, then glibc prints one "Arena N:" block per
# arena to stderr.
PROGRAM = """
import ctypes, sys, threading
from services.runtime.memory import limit_malloc_arenas
if sys.argv[1] == "capped":
    assert limit_malloc_arenas(2)
start = threading.Barrier(8)
def churn():
    start.wait()
    for _ in range(2_000):
        bytearray(1 << 20)
threads = [threading.Thread(target=churn) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


def test_threads_share_two_arenas_once_capped():
    assert arenas("default") > 2  # the contention is real: uncapped, glibc gives threads arenas of their own
    assert arenas("capped") <= 2
