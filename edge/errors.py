"""The edge agent's errors.

EdgeError
└── EdgeConfigError   the configuration file is wrong; the message names the key
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error the edge agent raises on purpose."""


class EdgeConfigError(EdgeError):
    """A configuration value is missing or wrong; ``where`` is its dotted path in the file."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
