"""Anomaly detection's errors, on top of the shared tree in `services.runtime.errors`.

ServiceError
└── InvalidArgument
    └── BadSensorData            input a detector cannot be fitted on or score, with a stable reason:
                                 TRAINING_TOO_SHORT, CONSTANT_SERIES, NOT_NUMERIC, MISSING_DATETIME,
                                 UNORDERED_TIME, MISSING_SERIES, NO_SERIES, EMPTY_INPUT
"""

from __future__ import annotations

from services.runtime.errors import InvalidArgument


class BadSensorData(InvalidArgument):
    default_reason = "BAD_SENSOR_DATA"

    @classmethod
    def of(cls, field: str, description: str, reason: str | None = None) -> BadSensorData:
        error = super().of(field, description, reason)
        assert isinstance(error, BadSensorData)
        return error
