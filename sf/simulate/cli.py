"""`sf simulate`: the demo tenant's devices until Ctrl-C or SIGTERM, then a one-line report."""

from __future__ import annotations

import argparse
import asyncio
import signal

from services.tenancy import catalog
from sf.simulate.fleet import run_fleet


async def simulate(target: str, args: argparse.Namespace) -> int:
    loaded = catalog.load_catalog()
    manifest = catalog.load_manifest(loaded.folder / "demo" / "tenant.yaml", loaded)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    report = await run_fleet(
        target, manifest, rate_hz=args.rate, stop=stop, seed=args.seed, backfill_s=args.backfill
    )
    print(
        f"sf simulate: {report.points_acked} points acknowledged in {report.batches_acked} batches,"
        f" {report.errors} errors"
    )
    for device, message in report.failed.items():
        print(f"sf simulate: {device} stopped: {message}")
    return 1 if report.failed else 0
