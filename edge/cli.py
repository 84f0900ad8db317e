"""`sf edge run|status --config FILE`: the agent in the foreground, or what its buffer holds."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from edge import config as edge_config
from edge.agent import run_agent
from edge.buffer import Buffer
from edge.errors import EdgeConfigError


def run(path: Path) -> int:
    """Until SIGINT or SIGTERM; exit 1 when the cloud refused the device, 2 on a configuration error."""
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # the OPC UA source reports connections itself
    try:
        config = edge_config.load(path)
    except EdgeConfigError as exc:
        print(f"sf edge: configuration error in {path}: {exc}", file=sys.stderr)
        return 2
    stats = asyncio.run(_run_until_signalled(config))
    print(
        f"sf edge: {stats.points_acked} points acknowledged in {stats.batches_acked} batches"
        f" ({stats.points_acked_backfill} on the backfill lane), {stats.errors} errors"
    )
    if stats.fatal:
        print(f"sf edge: the cloud refused this device: {stats.fatal}", file=sys.stderr)
        return 1
    return 0


def status(path: Path) -> int:
    try:
        config = edge_config.load(path)
    except EdgeConfigError as exc:
        print(f"sf edge: configuration error in {path}: {exc}", file=sys.stderr)
        return 2
    buffer = Buffer(config.buffer_path, config.buffer_max_bytes)
    try:
        s = buffer.status()
    finally:
        buffer.close()
    print(
        f"buffer {config.buffer_path}: {s.waiting} readings waiting, {s.in_flight} in {s.batches} unacknowledged"
        f" batches, {s.dropped} dropped over the cap ever, {s.size_bytes / 2**20:.1f} MB in use"
    )
    return 0


async def _run_until_signalled(config: edge_config.EdgeConfig):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run_agent(config, stop)
