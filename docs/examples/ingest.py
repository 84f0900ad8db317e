"""Send a reading every half second over gRPC with the Python SDK (`sfclient`), as a device would.

    SF_DEVICE_CREDENTIAL=... SF_SERIES_ID=... python docs/examples/ingest.py --seconds 10

Each reading is acknowledged only once it is stored; the SDK batches, compresses and resends what a
broken connection lost (docs/INGEST.md).
"""

import argparse
import asyncio
import math
import os
import time

from sfclient import Device, DeviceOptions


async def main(seconds: float) -> None:
    target = os.environ.get("SF_INGEST_TARGET", "localhost:50051")
    secure = os.environ.get("SF_INGEST_TLS", "false") == "true"  # true for the hosted service
    options = DeviceOptions(secure=secure, batch_interval_s=0.5)
    series = os.environ["SF_SERIES_ID"]
    async with Device(target, os.environ["SF_DEVICE_CREDENTIAL"], options) as device:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            device.record(series, time.time_ns(), round(20 + 5 * math.sin(time.monotonic()), 2))
            await asyncio.sleep(0.5)
    print(f"sent for {seconds:g} s; {device.stats.points_acked} points stored", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args().seconds))
