"""Analytics' heavy work off the event loop: decoding and combining a long range, writing a large answer.

It runs in threads of lowered priority (services/runtime/background.py): when they and the event loop
both want a core, the loop, which serves every tenant's small calls, gets it first (RELIABILITY I7).
The codec and numpy release the GIL for most of this work.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import TypeVar

from services.runtime.background import low_priority_threads

T = TypeVar("T")
_THREADS = low_priority_threads(4, "analytics-heavy")


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` in one of the heavy-work threads, in the caller's context (as ``asyncio.to_thread``)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_THREADS, context.run, work, *args)
