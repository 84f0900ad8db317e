"""What flows through the edge agent: readings, the sink that keeps them, the sources that make them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample of one sfcloud series, stamped with the device's own time."""

    series_id: str  # the series' UUID in sfcloud
    ts_ns: int  # int64 ns since the Unix epoch (UTC)
    value: float


class Sink(Protocol):
    """Takes readings into the agent's buffer."""

    async def write(self, readings: Sequence[Reading]) -> None:
        """Return only once ``readings`` are durable (committed to the local buffer).

        A source acknowledges its peer (an MQTT PUBACK, say) only after this returns, so a reading
        is either in the buffer or still with its peer, never lost in between.
        """


class Source(Protocol):
    """A connection to one factory peer (an OPC UA server, an MQTT broker)."""

    name: str

    async def run(self, sink: Sink) -> None:
        """Read until cancelled, reconnecting with backoff on its own; raise only on bad configuration."""
