"""Reading a client stream until the server starts draining for shutdown, or the client falls silent.

A stream that sends nothing for ``idle_s`` is ended with UNAVAILABLE `STREAM_IDLE`: an idle stream holds
a connection, a handler and a place among its tenant's streams for nothing, and a client whose network
died without a word (no FIN, no keepalive answer yet) would hold them for good. Clients reconnect on
UNAVAILABLE when they have data again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

from services.runtime.errors import Unavailable

T = TypeVar("T")


class StreamIdle(Unavailable):
    default_reason = "STREAM_IDLE"


async def until_draining(
    requests: AsyncIterable[T], draining: asyncio.Event, idle_s: float | None = None
) -> AsyncIterator[T]:
    """Yield requests until the stream ends or ``draining`` is set; raise StreamIdle when none came for
    ``idle_s`` seconds (counted from the stream's start or the caller taking the previous one back).

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
            await asyncio.wait({step, drain}, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                if drain.done():
                    return
                raise StreamIdle(
                    f"nothing sent for {idle_s:g} s: stream closed; open a new one when there is data to send"
                )
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
