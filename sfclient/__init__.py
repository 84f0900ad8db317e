"""sfclient: the Python SDK for devices that send telemetry to sfcloud over gRPC (docs/INGEST.md).

``Device`` is all most devices need; ``DeviceSession`` is the resending stream underneath, for
clients (such as the edge agent) that number and keep their batches themselves.
"""

from sfclient.backlog import Backlog, Batch
from sfclient.device import Device, DeviceOptions, DeviceRejected
from sfclient.policy import SessionPolicy
from sfclient.session import DeviceSession, DeviceStats

__all__ = [
    "Backlog",
    "Batch",
    "Device",
    "DeviceOptions",
    "DeviceRejected",
    "DeviceSession",
    "DeviceStats",
    "SessionPolicy",
]
