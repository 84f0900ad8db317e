"""The tenant catalog in `tenants/`: plans, industry templates and tenant manifests, read and checked.

Files are data, validated against the JSON Schemas in `tenants/schema/`, and
cross-checked: a manifest names a plan and a template that exist, machines
name machine types that exist, machine-type names are unique across
templates, alarms name series of their machine type. The catalog folder is
`SF_CATALOG_DIR`, by default the repository's `tenants/`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.tenancy.models import Plan
from services.tenancy.programme_models import Rule

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "tenants"


class CatalogError(Exception):
    """A catalog file is malformed or refers to something that does not exist."""


@dataclass(frozen=True)
class Template:
    """An industry template: machine types with series, cycle times and alarms; KPI targets; a default layout."""

    code: str
    data: dict[str, Any]

    @property
    def kpi_targets(self) -> dict[str, float]:
        return self.data["kpi_targets"]


@dataclass(frozen=True)
class Catalog:
    folder: Path
    plans: dict[str, Plan]
    templates: dict[str, Template]
    machine_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    utilisation_rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A tenant declared as code: the demo tenant, or any tenant `sf tenants apply` reconciles."""

    data: dict[str, Any]
    catalog: Catalog

    @property
    def slug(self) -> str:
        return self.data["tenant"]["slug"]

    @property
    def plan(self) -> str:
        return self.data["tenant"]["plan"]

    @property
    def template(self) -> Template:
        return self.catalog.templates[self.data["tenant"]["template"]]

    def sites(self) -> list[dict[str, Any]]:
        """The declared plant, or the template's default layout."""
        return self.data.get("sites") or self.template.data["layout"]["sites"]

    def machines(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(site, line, machine) for every machine, in file order."""
        return [
            (s["name"], line["name"], m)
            for s in self.sites()
            for line in s["lines"]
            for m in line["machines"]
        ]

    def series_of(self, machine: dict[str, Any]) -> list[dict[str, Any]]:
        return self.catalog.machine_types[machine["type"]]["series"]


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
    plans = {
        p["code"]: Plan(p["code"], p["name"], p["quotas"], p["features"], p["price_krw_month"])
        for p in data["plans"]
    }
    if len(plans) != len(data["plans"]):
        raise CatalogError(f"{folder / 'plans.yaml'}: plan codes must be unique")
    return plans


def load_utilisation_rules(folder: Path = DEFAULT_CATALOG_DIR) -> tuple[Rule, ...]:
    """The operator's flag rules; codes must be unique, for reviews are kept by them."""
    path = folder / "utilisation_rules.yaml"
    rules = tuple(Rule(**r) for r in _load(path, "utilisation_rules.schema.json", folder)["rules"])
    if len({r.code for r in rules}) != len(rules):
        raise CatalogError(f"{path}: rule codes must be unique")
    return rules


def load_templates(folder: Path = DEFAULT_CATALOG_DIR) -> dict[str, Template]:
    templates = {}
    for path in sorted((folder / "templates").glob("*.yaml")):
        data = _load(path, "template.schema.json", folder)
        if data["code"] != path.stem:
            raise CatalogError(f"{path}: code {data['code']!r} must match the file name")
        _check_template(path, data)
        templates[data["code"]] = Template(data["code"], data)
    return templates


def _check_template(path: Path, data: dict[str, Any]) -> None:
    types = data["machine_types"]
    for name, spec in types.items():
        series = {s["name"] for s in spec["series"]}
        for alarm in spec.get("alarms", []):
            if alarm["series"] not in series:
                raise CatalogError(f"{path}: an alarm of {name} names unknown series {alarm['series']!r}")
    for site in data["layout"]["sites"]:
        for line in site["lines"]:
            for machine in line["machines"]:
                if machine["type"] not in types:
                    raise CatalogError(
                        f"{path}: machine {machine['name']} has unknown type {machine['type']!r}"
                    )


def load_catalog(folder: Path = DEFAULT_CATALOG_DIR) -> Catalog:
    plans, templates = load_plans(folder), load_templates(folder)
    machine_types: dict[str, dict[str, Any]] = {}
    for template in templates.values():
        for name, spec in template.data["machine_types"].items():
            if name in machine_types:
                raise CatalogError(f"machine type {name!r} is defined by more than one template")
            machine_types[name] = spec
    return Catalog(folder, plans, templates, machine_types, load_utilisation_rules(folder))


def load_manifest(path: Path, catalog: Catalog) -> Manifest:
    manifest = Manifest(_load(path, "tenant.schema.json", catalog.folder), catalog)
    tenant = manifest.data["tenant"]
    if tenant["plan"] not in catalog.plans:
        raise CatalogError(f"{path}: plan {tenant['plan']!r} is not in plans.yaml")
    if tenant["template"] not in catalog.templates:
        raise CatalogError(f"{path}: template {tenant['template']!r} is not in templates/")
    for _, _, machine in manifest.machines():
        if machine["type"] not in catalog.machine_types:
            raise CatalogError(f"{path}: machine {machine['name']} has unknown type {machine['type']!r}")
    devices = [m["device"] for _, _, m in manifest.machines() if "device" in m]
    if len(set(devices)) != len(devices):
        raise CatalogError(f"{path}: device names must be unique")
    return manifest


def load_manifests(folder: Path, catalog: Catalog) -> list[Manifest]:
    """Every tenant manifest (`*.yaml`) in a folder, for `sf tenants apply`."""
    return [load_manifest(path, catalog) for path in sorted(folder.glob("*.yaml"))]


def catalog_with_quotas(folder: Path, quotas: dict[str, dict[str, int]]) -> Path:
    """A copy of the catalog in ``folder`` with some plans' quotas changed ({plan code: {quota: value}}),
    for a service run on purpose with other limits (tests of the limits, the GraphQL benchmark)."""
    shutil.copytree(DEFAULT_CATALOG_DIR, folder, dirs_exist_ok=True)
    plans = yaml.safe_load((folder / "plans.yaml").read_text())
    for plan in plans["plans"]:
        plan["quotas"].update(quotas.get(plan["code"], {}))
    (folder / "plans.yaml").write_text(yaml.safe_dump(plans))
    return folder
