"""Checking one section of the agent's YAML file: each mistake named by its place (``sources[1].port``).

Shared by the file's own sections (edge/config.py) and each source's (edge/sources/*): values are never
echoed for text settings, which may be passwords; only their type is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.errors import EdgeConfigError


def mapping(value: Any, where: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise EdgeConfigError(where, "must be a mapping of keys to values")
    return value


def check_keys(section: Any, where: str, known: tuple[str, ...] | frozenset[str]) -> Mapping:
    """Catches typos (``interval: 500``) that would otherwise silently fall back to a default."""
    for key in mapping(section, where):
        if key not in known:
            raise EdgeConfigError(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})")
    return section


def text(section: Mapping, key: str, where: str, default: str | None = None) -> str | None:
    """A non-empty string, or ``default`` when the key is absent (or left empty in YAML)."""
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise EdgeConfigError(f"{where}.{key}", f"a non-empty string is needed, not {type(value).__name__}")
    return value


def required_text(section: Mapping, key: str, where: str) -> str:
    value = text(section, key, where)
    if value is None:
        raise EdgeConfigError(f"{where}.{key}", "is required")
    return value
