"""Threads for CPU-heavy work that can wait (password hashing, compaction): when they and the process's
serving threads (its event loop, gRPC's) both want a core, the serving threads get it first."""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

NICENESS = 10  # added to the process's nice value in these threads (Linux: per thread)


def low_priority_threads(count: int, name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(count, thread_name_prefix=name, initializer=_lower_priority)


def _lower_priority() -> None:
    """Each thread, as it starts, lowers its own priority. Only Linux sets a thread's priority alone;
    elsewhere this would lower the whole process's, so there the threads keep the process's."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))
