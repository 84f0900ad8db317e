"""Pacing a lane: batches spaced so that, over any stretch, they go out at no more than a rate.

A drained backlog is history; sent as fast as the server acknowledges, one device's catch-up takes
a share of the ingest service that its neighbours feel (RELIABILITY D4). The limit is read at each
batch, so whoever owns the pacer can follow the device's own pace (the edge agent: five times the
plant's measured rate).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

NEW_STRETCH_S = 5.0  # idle this long, the next batch starts a new paced stretch (and says so)
RELOG_CHANGE = 0.2  # within a stretch, a limit this much above or below the one logged is logged again


class Pacer:
    """Each batch pushes the next one's earliest start back by its points over the limit."""

    def __init__(self, name: str, limit: Callable[[], float], clock: Callable[[], float] = time.monotonic):
        self._name, self._limit, self._clock = name, limit, clock
        self._next_at = -float("inf")
        self._logged = 0.0

    def delay_s(self) -> float:
        """How long the next batch must wait."""
        return max(self._next_at - self._clock(), 0.0)

    def charge(self, points: int) -> None:
        """Account for a batch going out now."""
        now, limit = self._clock(), self._limit()
        if now - self._next_at >= NEW_STRETCH_S or abs(limit - self._logged) > RELOG_CHANGE * self._logged:
            self._logged = limit
            log.info(
                "device %s: backfill paced at %.0f points/s",
                self._name,
                limit,
                extra={"points_per_s": round(limit)},
            )
        self._next_at = max(self._next_at, now) + points / limit
