"""A small bounded in-process map whose entries expire, for lookups worth remembering briefly."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any


class TtlCache:
    def __init__(self, ttl_s: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()  # crude but bounded; entries are cheap to fetch again
        self._entries[key] = (time.monotonic() + self._ttl, value)
