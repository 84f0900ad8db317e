"""The compatibility rule (docs/API.md): the schema breaks nothing that was not deprecated first.

The built schema is compared with `gateway/schema.graphql` as committed in this tree and as it
is on the main branch where this branch left it (`git merge-base HEAD main`; `SF_SCHEMA_BASE`
names another git revision), so a breaking change fails even after `make schema` rewrote the file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from graphql import build_schema as from_sdl

from gateway.graphql.contract import breaking_changes
from gateway.graphql.schema import build_schema

ROOT = Path(__file__).resolve().parents[2]
EXPORTED = "gateway/schema.graphql"

OLD = """
type Query {
  machines: [Machine!]!
  machine(id: ID!): Machine
  legacy: String @deprecated(reason: "use machines")
  chart(columns: Int!): [Float!]!
}
type Machine { id: ID! name: String! line: Line old: Old @deprecated(reason: "gone soon") }
type Line { name: String! }
type Old { x: Int }
enum Calendar { DAY WEEK MONTH @deprecated(reason: "months vary") }
"""


def _changes(new_sdl: str) -> list[str]:
    return breaking_changes(from_sdl(OLD), from_sdl(new_sdl))


def _edited(*edits: tuple[str, str]) -> str:
    sdl = OLD
    for old, new in edits:
        assert old in sdl
        sdl = sdl.replace(old, new)
    return sdl


def test_breaking_changes_to_fields_types_and_arguments_are_caught():
    assert _changes(OLD) == []
    assert _changes(_edited(("  machine(id: ID!): Machine\n", ""))) == [
        "FIELD_REMOVED: Field Query.machine was removed."
    ]
    assert _changes(_edited(("name: String! line", "name: Int! line"))) == [
        "FIELD_CHANGED_KIND: Field Machine.name changed type from String! to Int!."
    ]
    assert _changes(_edited(("chart(columns: Int!)", "chart(columns: Int!, tz: String!)"))) == [
        "REQUIRED_ARG_ADDED: A required argument Query.chart(tz:) was added."
    ]
    assert _changes(_edited(("machine(id: ID!)", "machine(id: Int!)"))) != []
    assert _changes(_edited(("DAY WEEK", "DAY"))) == [
        "VALUE_REMOVED_FROM_ENUM: Enum value Calendar.WEEK was removed."
    ]
    assert sorted(_changes(_edited(("line: Line ", ""), ("type Line { name: String! }\n", "")))) == [
        "FIELD_REMOVED: Field Machine.line was removed.",
        "TYPE_REMOVED: Line was removed.",
    ]


def test_what_was_deprecated_first_may_go():
    assert _changes(_edited(('  legacy: String @deprecated(reason: "use machines")\n', ""))) == []
    assert _changes(_edited((' MONTH @deprecated(reason: "months vary")', ""))) == []
    without_old = _edited((' old: Old @deprecated(reason: "gone soon")', ""), ("type Old { x: Int }\n", ""))
    assert _changes(without_old) == []  # the type was reachable only through a deprecated field
    assert _changes(_edited(("chart(columns: Int!)", "chart(columns: Int)"))) == []  # looser: not breaking
    assert _changes(_edited(("chart(columns: Int!)", "chart(columns: Int!, tz: String)"))) == []


def test_the_schema_breaks_nothing_of_the_committed_one():
    committed = from_sdl((ROOT / EXPORTED).read_text())
    assert breaking_changes(committed, build_schema()._schema) == []


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_schema_breaks_nothing_of_the_main_branchs():
    try:
        base = os.environ.get("SF_SCHEMA_BASE") or _git("merge-base", "HEAD", "main").strip()
        sdl = _git("show", f"{base}:{EXPORTED}")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no git history with a main branch to compare with ({exc})")
    assert breaking_changes(from_sdl(sdl), build_schema()._schema) == [], (
        f"breaking changes against {base[:12]}: deprecate first (docs/API.md, Compatibility)"
    )
