"""Validation answers remembered: the same document under the same limits and variables validates the
same way, so a dashboard polling one query pays graphql-core's rules once, not on every request.

Validation (graphql-core's rules, then depth, aliases and cost per plan: `limits.py`) was about 2.5 ms
of a small query's time. The answer depends on the document's text, the caller's plan limits and the
variables (the cost counts list sizes passed in variables), so all three make the key; the schema is
fixed for the process. Bounded (least recently used go first), and documents or variables over
``MAX_KEY_CHARS`` are not remembered at all.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from graphql import GraphQLError

MAX_ENTRIES = 512
MAX_KEY_CHARS = 16_384


class ValidationMemory:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._answers: OrderedDict[Hashable, list[GraphQLError]] = OrderedDict()
        self._max = max_entries
        self.hits = 0

    @staticmethod
    def key(query: str | None, limits: Hashable, variables: Mapping[str, Any] | None) -> Hashable | None:
        """None when the request should not be remembered (no text, or too big a key)."""
        if not query:
            return None
        try:
            values = json.dumps(variables or {}, sort_keys=True)
        except (TypeError, ValueError):
            return None
        if len(query) + len(values) > MAX_KEY_CHARS:
            return None
        return query, limits, values

    def recall(self, key: Hashable | None) -> list[GraphQLError] | None:
        if key is None or key not in self._answers:
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return self._answers[key]

    def remember(self, key: Hashable | None, errors: list[GraphQLError] | None) -> None:
        if key is None or errors is None:
            return
        self._answers[key] = errors
        self._answers.move_to_end(key)
        while len(self._answers) > self._max:
            self._answers.popitem(last=False)
