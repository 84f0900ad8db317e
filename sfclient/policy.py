"""What a device session retries and how long it waits: the rules docs/INGEST.md gives clients."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

# Statuses that mean the device or its data is wrong: retrying cannot help, the device stops.
FATAL_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


@dataclass(frozen=True)
class SessionPolicy:
    """The timing of a device session; the defaults suit a 1 Hz device."""

    ack_timeout_s: float = 30.0
    session_s: float = 600.0  # stream rotation period
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    drain_s: float = 5.0  # after close(), how long to wait for the last acknowledgements
    drop_log_interval_s: float = 10.0
    live_window_s: float = 30.0  # a live batch unacknowledged this long is resent on the backfill lane

    def backoff(self, failures: int, jitter: float) -> float:
        """Capped exponential delay, shortened by up to half so devices do not reconnect in lockstep."""
        delay = min(self.backoff_initial_s * 2 ** min(failures - 1, 30), self.backoff_max_s)
        return delay * (1.0 - 0.5 * jitter)


def retry_delay_s(exc: grpc.aio.AioRpcError) -> float | None:
    """The wait the server asked for in a google.rpc.RetryInfo detail, if it sent one."""
    status = rpc_status.from_call(exc)
    for detail in status.details if status else ():
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToTimedelta().total_seconds()
    return None
