"""Reading `SF_` environment variables into typed values.

Each process has its own frozen settings class (in its `config.py`) built once
from the environment by ``from_env`` and passed down; tests build settings
directly. A missing or malformed variable raises :class:`ConfigError`, whose
message names the variable; `sf` prints that one line and exits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the variable."""


class Env:
    """Typed access to a mapping of environment variables (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def str(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name, default)
        if value is None or value == "":
            raise ConfigError(f"{name} is not set")
        return value

    def optional(self, name: str) -> str | None:
        return self._environ.get(name) or None

    def int(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self._environ.get(name) or default
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: str, schemes: tuple[str, ...], default: str | None = None) -> str:
        value = self.str(name, default)
        if urlsplit(value).scheme not in schemes:
            raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL")
        return value

    def secret(self, name: str, *, min_length: int = 32) -> str:
        value = self.str(name)
        if len(value) < min_length:
            raise ConfigError(f"{name} must be at least {min_length} characters long")
        return value
