"""Reading a client stream until the server starts draining for shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def until_draining(requests: AsyncIterable[T], draining: asyncio.Event) -> AsyncIterator[T]:
    """Yield requests until the stream ends or ``draining`` is set.

    The item being handled when draining starts is finished by the caller; no
    new one is taken, so a batch is either fully stored and acknowledged or
    left for the client to resend.
    """
    iterator = aiter(requests)
    drain = asyncio.ensure_future(draining.wait())
    step: asyncio.Future | None = None
    try:
        while not draining.is_set():
            step = asyncio.ensure_future(anext(iterator))
            await asyncio.wait({step, drain}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        drain.cancel()
        if step is not None and not step.done():  # a read left waiting (draining, or the call was cancelled)
            step.cancel()
