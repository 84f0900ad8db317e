"""The edge agent's composition root: buffer, sources and forwarder for one configuration.

Sources write into the buffer and the forwarder empties it, independently: a dead cloud link only
makes the buffer grow, a dead OPC UA server only stops its own readings. On stop, the sources are
cancelled first (each hands over what it holds), then the forwarder sends what it can within its
drain time; whatever is left stays in the buffer for the next start.
"""

from __future__ import annotations

import asyncio
import logging

from edge.buffer import Buffer
from edge.config import EdgeConfig
from edge.forwarder import BufferSink, Forwarder
from sfclient.device import open_channel
from sfclient.session import DeviceStats
from sfcloud.v1 import ingest_pb2_grpc

log = logging.getLogger(__name__)


async def run_agent(config: EdgeConfig, stop: asyncio.Event) -> DeviceStats:
    """Run until ``stop`` is set or the cloud refuses the device for good; the forwarding counts."""
    buffer = Buffer(config.buffer_path, config.buffer_max_bytes)
    channel = open_channel(config.target, config.tls, config.forward.policy)
    try:
        sink = BufferSink(buffer)
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        forwarder = Forwarder(buffer, sink, stub, config.credential, config.forward)
        log.info(
            "edge agent: %d sources, buffer %s, forwarding to %s",
            len(config.sources),
            config.buffer_path,
            config.target,
        )
        reading = [asyncio.create_task(source.run(sink), name=source.name) for source in config.sources]
        forwarding = asyncio.create_task(forwarder.run(stop))
        await _until_stopped(stop, forwarding, reading)
        stop.set()
        await forwarding
        return forwarder.session.stats
    finally:
        await channel.close()
        buffer.close()


async def _until_stopped(stop: asyncio.Event, forwarding: asyncio.Task, reading: list[asyncio.Task]) -> None:
    """Wait for a stop, a forwarder that gave up, or a source that failed; then end the sources."""
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([stopped, forwarding, *reading], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    for task in reading:
        task.cancel()
    for task, result in zip(reading, await asyncio.gather(*reading, return_exceptions=True), strict=True):
        if isinstance(result, Exception):
            log.error("edge agent: source %s failed: %s", task.get_name(), result)
