"""Ingest's errors, on top of the shared tree in `services.runtime.errors`.

ServiceError
├── InvalidArgument
│   └── MalformedBatch        a batch breaks the protocol (lengths, ids, sizes, time window)
├── NotFound
│   └── UnknownSeries         a series id that is not one of the device tenant's series
├── Unauthenticated
│   └── BadDeviceCredential   missing, malformed or unknown device credential
└── Unavailable
    └── ShuttingDown          the server is draining; reconnect and resend unacknowledged batches
"""

from __future__ import annotations

from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)


class MalformedBatch(InvalidArgument):
    default_reason = "MALFORMED_BATCH"


class UnknownSeries(NotFound):
    default_reason = "UNKNOWN_SERIES"


class SubscriptionInactive(FailedPrecondition):
    default_reason = "SUBSCRIPTION_INACTIVE"


class BadDeviceCredential(Unauthenticated):
    default_reason = "BAD_DEVICE_CREDENTIAL"


class ShuttingDown(Unavailable):
    default_reason = "SHUTTING_DOWN"
