"""How fast the plant produces readings, measured where they arrive: the agent's drain is paced on it.

Per-second counts of the readings written to the buffer over the last minute the plant produced.
The estimate is their interquartile mean, over the seconds wholly between the first and the last
arrival: a burst (a broker handing over what it held while the agent restarted) falls in the top
quarter and is ignored, a source that writes every other second averages out, and a plant that
stopped (end of shift) keeps its last rate, so a backlog still drains at its pace.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60
LEAST_SECONDS = 4  # fewer whole seconds than this measured: the rate is not known yet (0)


class ArrivalRate:
    def __init__(self, window_s: int = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s, self._clock = window_s, clock
        self._seconds: deque[list[int]] = deque()  # [second, readings], oldest first

    def record(self, readings: int) -> None:
        second = int(self._clock())
        if self._seconds and self._seconds[-1][0] == second:
            self._seconds[-1][1] += readings
        else:
            self._seconds.append([second, readings])
        while self._seconds[0][0] < second - self._window_s:
            self._seconds.popleft()

    def per_second(self) -> float:
        """Readings a second, or 0 while fewer than LEAST_SECONDS whole seconds were seen."""
        if not self._seconds:
            return 0.0
        counts = dict(self._seconds)
        first, last = self._seconds[0][0], self._seconds[-1][0]
        whole = sorted(counts.get(second, 0) for second in range(first + 1, last))
        if len(whole) < LEAST_SECONDS:
            return 0.0
        quarter = len(whole) // 4
        middle = whole[quarter : len(whole) - quarter]
        return sum(middle) / len(middle)
