"""The demo factory's fleet: one simulated device per machine of a tenant manifest, all at once.

Each device has its own channel (separate edge boxes share no connection),
its own model seeded from the fleet seed and its device name (so adding a
machine leaves the others' signals unchanged), and its own Ingest stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np

from services.runtime.channels import open_channel
from services.tenancy.catalog import Manifest
from services.tenancy.provisioning import manifest_id
from sf.simulate.feed import BATCH_TICKS, MachineFeed, TickClock, run_feed
from sf.simulate.signals import MachineModel
from sfclient.backlog import Backlog
from sfclient.policy import SessionPolicy
from sfclient.session import DeviceSession, DeviceStats
from sfcloud.v1 import ingest_pb2_grpc

DEFAULT_BACKLOG_S = 3600.0


@dataclass(frozen=True)
class SimulatedMachine:
    """A manifest machine as its device sees it: who it is and where its series go."""

    device: str
    credential: str
    machine_type: str
    series: tuple[Mapping[str, Any], ...]
    series_ids: tuple[str, ...]


def machines_of(manifest: Manifest) -> list[SimulatedMachine]:
    """Every machine of the manifest with the ids provisioning gave its series."""
    slug = manifest.data["tenant"]["slug"]
    machines = []
    for site, line, machine in manifest.machines():
        series = tuple(manifest.series_of(machine))
        ids = tuple(str(manifest_id(slug, site, line, machine["name"], s["name"])) for s in series)
        machines.append(
            SimulatedMachine(machine["device"], machine["credential"], machine["type"], series, ids)
        )
    return machines


def machine_rng(seed: int, device: str) -> np.random.Generator:
    """A device's own random stream, stable when machines are added or reordered."""
    return np.random.default_rng([seed, zlib.crc32(device.encode())])


@dataclass
class FleetReport:
    """Per-device counts, by device name, with fleet totals."""

    devices: dict[str, DeviceStats]

    def total(self, field: str) -> int:
        """The sum of one DeviceStats counter over all devices."""
        return sum(getattr(stats, field) for stats in self.devices.values())

    @property
    def batches_sent(self) -> int:
        return self.total("batches_sent")

    @property
    def points_sent(self) -> int:
        return self.total("points_sent")

    @property
    def batches_acked(self) -> int:
        return self.total("batches_acked")

    @property
    def points_acked(self) -> int:
        return self.total("points_acked")

    @property
    def errors(self) -> int:
        return self.total("errors")

    @property
    def failed(self) -> dict[str, str]:
        """Devices the server rejected for good, with its message."""
        return {name: stats.fatal for name, stats in self.devices.items() if stats.fatal}


async def run_fleet(
    target: str,
    manifest: Manifest,
    *,
    rate_hz: float = 1.0,
    stop: asyncio.Event,
    seed: int = 0,
    backfill_s: float = 0.0,
    policy: SessionPolicy | None = None,
    backlog_s: float = DEFAULT_BACKLOG_S,
    connect: Callable[[str], grpc.aio.Channel] = open_channel,
) -> FleetReport:
    """Stream every machine of ``manifest`` to IngestService at ``target`` until ``stop`` is set.

    ``backfill_s`` seconds of history go first, in batches of BATCH_TICKS samples per
    series; then one batch per tick. On stop, each device sends what is pending and
    waits up to ``policy.drain_s`` for the last acknowledgements.
    """
    clock = TickClock.starting_now(rate_hz, backfill_s)
    machines = machines_of(manifest)
    channels = [connect(target) for _ in machines]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {
                machine.device: group.create_task(
                    _run_device(machine, channel, clock, stop, seed=seed, policy=policy, backlog_s=backlog_s)
                )
                for machine, channel in zip(machines, channels, strict=True)
            }
    finally:
        for channel in channels:
            await channel.close()
    return FleetReport({device: task.result() for device, task in tasks.items()})


async def _run_device(
    machine: SimulatedMachine,
    channel: grpc.aio.Channel,
    clock: TickClock,
    stop: asyncio.Event,
    *,
    seed: int,
    policy: SessionPolicy | None,
    backlog_s: float,
) -> DeviceStats:
    """Feed and session of one machine, until stop is set or the server rejects the device."""
    model = MachineModel.for_type(
        machine.machine_type, machine.series, machine_rng(seed, machine.device), clock.dt_s
    )
    budget = max(round(backlog_s / clock.dt_s), 2 * BATCH_TICKS) * len(machine.series_ids)
    stub = ingest_pb2_grpc.IngestServiceStub(channel)
    session = DeviceSession(machine.device, stub, machine.credential, Backlog(budget), policy)
    session_task = asyncio.create_task(session.run())
    feed_task = asyncio.create_task(run_feed(MachineFeed(model, machine.series_ids, clock), session, clock))
    stop_task = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({session_task, feed_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        session_task.cancel()
        raise
    finally:
        stop_task.cancel()
        feed_task.cancel()
        session.close()
    stats = await session_task
    with contextlib.suppress(asyncio.CancelledError):
        await feed_task  # re-raises a feed bug, if there was one
    return stats
