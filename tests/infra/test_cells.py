"""tenants/cells.yaml matches its schema and what the product accepts as cells, and every tenant
manifest is placed on a cell each environment has."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from services.runtime.settings import DEFAULT_CELL, parse_cells
from tests.infra.terraform import ENVS, ROOT

TENANTS = ROOT / "tenants"


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load((TENANTS / "cells.yaml").read_text())


def manifests() -> list[dict]:
    """Tenant manifests as the cells module finds them (tenants/*/*.yaml but templates and schemas)."""
    paths = [p for p in TENANTS.glob("*/*.yaml") if p.parent.name not in ("templates", "schema")]
    assert paths, "the demo tenant's manifest at least"
    return [yaml.safe_load(path.read_text()) for path in paths]


def test_cells_yaml_matches_its_schema(catalog):
    jsonschema.validate(catalog, json.loads((TENANTS / "schema" / "cells.schema.json").read_text()))


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_has_the_default_cell_and_known_sizes(catalog, env):
    cells = catalog["environments"][env]
    assert DEFAULT_CELL in cells
    assert {spec["size"] for spec in cells.values()} <= set(catalog["sizes"])


@pytest.mark.parametrize("env", ENVS)
def test_the_services_accept_the_environments_cells(catalog, env):
    extra = [cell for cell in catalog["environments"][env] if cell != DEFAULT_CELL]
    raw = ",".join(f"{cell}=postgresql://postgres@cell-{cell}:5432/sfcloud" for cell in extra)
    assert set(parse_cells(raw)) == set(extra)


def test_cell_names_follow_the_tenant_manifests_rule():
    tenant = json.loads((TENANTS / "schema" / "tenant.schema.json").read_text())
    cells = json.loads((TENANTS / "schema" / "cells.schema.json").read_text())
    manifest_rule = tenant["properties"]["tenant"]["properties"]["cell"]["pattern"]
    assert cells["$defs"]["cells"]["propertyNames"]["pattern"] == manifest_rule
    assert re.fullmatch(manifest_rule, DEFAULT_CELL)


@pytest.mark.parametrize("env", ENVS)
def test_every_tenant_is_placed_on_a_cell_the_environment_has(catalog, env):
    placed = {manifest["tenant"].get("cell", DEFAULT_CELL) for manifest in manifests()}
    assert placed <= set(catalog["environments"][env])
