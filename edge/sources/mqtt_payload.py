"""MQTT payloads into readings: strict on purpose, so a payload is read whole or rejected whole and a
device that sends something new is noticed (counted, logged) rather than half-read.

A payload is UTF-8 JSON, one of::

    21.5                                       a bare value, stamped with the time it was received
    {"ts": <ts>, "value": <value>}             one point
    {"points": [[<ts>, <value>], ...]}         1 to 100,000 points

    <ts>     an integer: ns since the Unix epoch        1714564800123456789
             a number with a fraction or exponent: s    1714564800.123
             an RFC 3339 string with Z or an offset     "2024-05-01T12:00:00.123456789Z"
    <value>  a number, or true/false (read as 1.0/0.0)

Rejected: anything else (other keys, missing or duplicate keys, strings as values), NaN and Infinity
(not JSON, though Python's json would read them), numbers beyond a double, times before 2000 (an
integer in seconds or milliseconds is the usual mistake) or after 2262 (int64 ns), payloads over 1 MiB.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from edge.readings import Reading

MAX_BYTES = 2**20
MAX_POINTS = 100_000
FIRST_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z
LAST_NS = 2**63 - 1  # 2262-04-11T23:47:16.854775807Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class PayloadError(ValueError):
    """The payload is none of the accepted forms; the message says why. It never leaves the source."""


def decode(payload: bytes, series_id: str, received_ns: int) -> list[Reading]:
    """The readings in ``payload`` for ``series_id``; a bare value is stamped ``received_ns``."""
    document = _load(payload)
    if isinstance(document, dict):
        points = _points(document)
    else:
        points = [(received_ns, _value(document))]
    return [Reading(series_id, ts_ns, value) for ts_ns, value in points]


def _load(payload: bytes) -> object:
    if len(payload) > MAX_BYTES:
        raise PayloadError(f"{len(payload)} bytes is over the {MAX_BYTES} byte limit")
    try:
        # Decimal keeps "1714564800.123456789" exact to the nanosecond (a double holds about 0.2 µs)
        return json.loads(
            payload.decode(), parse_float=Decimal, parse_constant=_constant, object_pairs_hook=_object
        )
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadError(f"not UTF-8 JSON: {exc}") from None


def _constant(name: str) -> object:
    raise PayloadError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise PayloadError("an object has a key twice")
    return document


def _points(document: dict[str, object]) -> list[tuple[int, float]]:
    if document.keys() == {"ts", "value"}:
        return [(_ts(document["ts"]), _value(document["value"]))]
    if document.keys() == {"points"}:
        return _many(document["points"])
    raise PayloadError(f'an object needs "ts" and "value", or "points"; it has {sorted(document)}')


def _many(points: object) -> list[tuple[int, float]]:
    if not isinstance(points, list) or not points:
        raise PayloadError("points must be a non-empty array of [ts, value] pairs")
    if len(points) > MAX_POINTS:
        raise PayloadError(f"{len(points)} points is over the {MAX_POINTS} limit")
    return [_pair(point, index) for index, point in enumerate(points)]


def _pair(point: object, index: int) -> tuple[int, float]:
    if not isinstance(point, list) or len(point) != 2:
        raise PayloadError(f"points[{index}] must be a [ts, value] pair")
    try:
        return _ts(point[0]), _value(point[1])
    except PayloadError as exc:
        raise PayloadError(f"points[{index}]: {exc}") from None


def _ts(ts: object) -> int:
    if isinstance(ts, int) and not isinstance(ts, bool):
        ts_ns = ts
    elif isinstance(ts, Decimal):
        ts_ns = _seconds(ts)
    elif isinstance(ts, str):
        ts_ns = _rfc3339(ts)
    else:
        raise PayloadError(f"ts must be integer ns, seconds or an RFC 3339 string, not {_kind(ts)}")
    if not FIRST_NS <= ts_ns <= LAST_NS:
        unit = " (an integer ts is in nanoseconds)" if isinstance(ts, int) else ""
        raise PayloadError(f"ts {ts} is not between 2000 and 2262{unit}")
    return ts_ns


def _seconds(seconds: Decimal) -> int:
    if abs(seconds) > LAST_NS // 10**9 + 1:  # checked here, before int() could build a huge number
        return LAST_NS + 1
    return int((seconds * 10**9).to_integral_value())


def _rfc3339(text: str) -> int:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise PayloadError(f"ts {text!r} is not an RFC 3339 time with Z or an offset")
    date, clock, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{'+00:00' if offset in 'Zz' else offset}")
    except ValueError:
        raise PayloadError(f"ts {text!r} is not a valid time") from None
    return (moment - _EPOCH) // timedelta(seconds=1) * 10**9 + int((fraction or "0").ljust(9, "0"))


def _value(value: object) -> float:
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | Decimal):
        raise PayloadError(f"a value must be a number or true/false, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double; a Decimal becomes inf instead
        number = math.inf
    if not math.isfinite(number):
        raise PayloadError(f"value {value} does not fit a double")
    return number


def _kind(value: object) -> str:
    return _JSON_TYPES.get(type(value), repr(value))
