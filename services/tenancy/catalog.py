"""The tenant catalog in `tenants/`: plans and tenant manifests, read and checked.

Files are data, validated against the JSON Schemas in `tenants/schema/`, and
cross-checked (a manifest names a plan that exists, machines name machine
types that exist). The catalog folder is `SF_CATALOG_DIR`, by default the
repository's `tenants/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.tenancy.models import Plan

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "tenants"


class CatalogError(Exception):
    """A catalog file is malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class Manifest:
    """A tenant to provision: the demo tenant, or any seeded one."""

    data: dict[str, Any]

    @property
    def plan(self) -> str:
        return self.data["tenant"]["plan"]

    def machines(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(site, line, machine) for every machine, in file order."""
        return [
            (site["name"], line["name"], machine)
            for site in self.data["sites"]
            for line in site["lines"]
            for machine in line["machines"]
        ]

    def series_of(self, machine: dict[str, Any]) -> list[dict[str, Any]]:
        return self.data["machine_types"][machine["type"]]


def _load(path: Path, schema_name: str, folder: Path) -> dict[str, Any]:
    schema = json.loads((folder / "schema" / schema_name).read_text())
    try:
        data = yaml.safe_load(path.read_text())
        jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    except (yaml.YAMLError, jsonschema.ValidationError) as exc:
        raise CatalogError(f"{path}: {getattr(exc, 'message', exc)}") from exc
    return data


def load_plans(folder: Path = DEFAULT_CATALOG_DIR) -> dict[str, Plan]:
    data = _load(folder / "plans.yaml", "plans.schema.json", folder)
    plans = {p["code"]: Plan(p["code"], p["name"], p["quotas"], p["features"]) for p in data["plans"]}
    if len(plans) != len(data["plans"]):
        raise CatalogError(f"{folder / 'plans.yaml'}: plan codes must be unique")
    return plans


def load_manifest(path: Path, plans: dict[str, Plan], folder: Path = DEFAULT_CATALOG_DIR) -> Manifest:
    manifest = Manifest(_load(path, "tenant.schema.json", folder))
    if manifest.plan not in plans:
        raise CatalogError(f"{path}: plan {manifest.plan!r} is not in plans.yaml")
    for _, _, machine in manifest.machines():
        if machine["type"] not in manifest.data["machine_types"]:
            raise CatalogError(f"{path}: machine {machine['name']} has unknown type {machine['type']!r}")
    devices = [m["device"] for _, _, m in manifest.machines()]
    if len(set(devices)) != len(devices):
        raise CatalogError(f"{path}: device names must be unique")
    return manifest
