"""Ingest's errors, on top of the shared tree in `services.runtime.errors`.

ServiceError
├── InvalidArgument
│   └── MalformedBatch        a batch breaks the protocol (lengths, ids, sizes, time window)
├── NotFound
│   └── UnknownSeries         a series id that is not one of the device tenant's series
├── FailedPrecondition
│   └── SubscriptionInactive  the tenant's subscription is suspended or cancelled
├── ResourceExhausted
│   ├── ServerBusy            the process's in-flight batch budget is full; retry after RetryInfo
│   └── TooManyStreams        the tenant holds as many open streams as this process allows
├── Unauthenticated
│   └── BadDeviceCredential   missing, malformed or unknown device credential
└── Unavailable
    ├── ShuttingDown          the server is draining; reconnect and resend unacknowledged batches
    └── StreamIdle            nothing sent for the idle timeout (`services/runtime/streams.py`)
"""

from __future__ import annotations

from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)


class MalformedBatch(InvalidArgument):
    default_reason = "MALFORMED_BATCH"


class UnknownSeries(NotFound):
    default_reason = "UNKNOWN_SERIES"


class SubscriptionInactive(FailedPrecondition):
    default_reason = "SUBSCRIPTION_INACTIVE"


class ServerBusy(ResourceExhausted):
    default_reason = "SERVER_BUSY"


class TooManyStreams(ResourceExhausted):
    default_reason = "TOO_MANY_STREAMS"


class BadDeviceCredential(Unauthenticated):
    default_reason = "BAD_DEVICE_CREDENTIAL"


class ShuttingDown(Unavailable):
    default_reason = "SHUTTING_DOWN"
