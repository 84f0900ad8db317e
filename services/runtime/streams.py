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
            del item  # an idle stream must not keep its last batch alive until the next one comes
    finally:
        drain.cancel()
        if step is not None:  # the last read: waiting still, or ended unseen (the call was cancelled)
            _abandon(step)


def _abandon(read: asyncio.Future) -> None:
    """Cancel a read nobody will take, and retrieve its outcome whenever it ends.

    When a client drops, gRPC often ends the pending read (StopAsyncIteration) in the same loop turn
    in which it cancels the handler: the read is done before anyone looks at it, and asyncio would
    log "Task exception was never retrieved" for many dropped streams.
    """
    read.cancel()
    read.add_done_callback(_retrieve)


def _retrieve(read: asyncio.Future) -> None:
    if not read.cancelled():
        read.exception()
