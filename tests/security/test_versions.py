"""RELIABILITY S1: the installed versions of the packages with known advisories are at least the first
safe release, and what runs is what pyproject.toml pins (`pip-audit` reports a false "no known
vulnerabilities" where it cannot reach its databases, so the floor is kept here, by hand)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# package → the first release without the advisory (update from the advisories, never downwards)
SAFE_FLOORS = {
    "strawberry-graphql": "0.323.2",  # websocket authentication bypass; unlimited subscriptions per connection
    "argon2-cffi": "21.2.0",
    "grpcio": "1.66.0",
    "protobuf": "5.28.0",
    "starlette": "0.47.2",
    "h11": "0.16.0",
}


def as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("package", sorted(SAFE_FLOORS))
def test_installed_versions_are_past_their_advisories(package):
    """RELIABILITY S1: Each package with a known advisory is at least its first safe version."""
    assert as_tuple(version(package)) >= as_tuple(SAFE_FLOORS[package]), (package, version(package))


def test_what_runs_is_what_pyproject_pins():
    """RELIABILITY S1: The installed versions are those pyproject.toml pins."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    for pin in map(Requirement, [*project["dependencies"], *project["optional-dependencies"]["dev"]]):
        wanted = [spec.version for spec in pin.specifier if spec.operator == "=="]
        assert wanted, f"{pin} is not pinned exactly"
        assert version(pin.name) == wanted[0], (pin.name, version(pin.name), wanted[0])


def test_pins_are_past_their_advisories():
    """RELIABILITY S1: pyproject.toml never pins a package with an advisory below its first safe version
    (checked on the pins themselves, so a downgrade fails before anything is installed)."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    pins = {
        pin.name.lower(): spec.version
        for pin in map(Requirement, [*project["dependencies"], *project["optional-dependencies"]["dev"]])
        for spec in pin.specifier
        if spec.operator == "=="
    }
    pinned = {name: pins[name] for name in SAFE_FLOORS if name in pins}  # h11 comes in with uvicorn, unpinned
    assert len(pinned) >= 5, pinned
    below = {name: pin for name, pin in pinned.items() if as_tuple(pin) < as_tuple(SAFE_FLOORS[name])}
    assert not below, f"pinned below the first safe release: {below}"
