"""Industry templates and tenants as code: a new tenant starts with its industry's plant, and
`sf tenants apply` reconciles declared tenants idempotently."""

from __future__ import annotations

import textwrap

import grpc
import pytest

from services.runtime.config import Env
from services.tenancy.catalog import load_catalog
from sf.tenants import apply, describe
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected

INDUSTRIES = {"injection-moulding", "cnc-machining", "food-processing", "metal-pressing"}


def test_the_catalog_is_valid_and_complete():
    catalog = load_catalog()
    assert {"starter", "standard", "pro", "enterprise"} <= set(catalog.plans)
    assert INDUSTRIES <= set(catalog.templates)
    for name, spec in catalog.machine_types.items():
        kinds = {s["name"]: s["kind"] for s in spec["series"]}
        assert kinds.get("state") == "state" and kinds.get("parts_total") == "counter", name
        assert spec["ideal_cycle_s"] > 0
    assert {r.code for r in catalog.utilisation_rules} >= {"SUBSIDISED_IDLE", "DEVICES_SILENT", "NO_LOGINS"}


@pytest.mark.parametrize("template", sorted(INDUSTRIES))
async def test_a_tenant_created_from_a_template_gets_its_plant(tenancy, template):
    created = (
        await tenancy.call(
            "CreateTenant",
            pb.CreateTenantRequest(name=f"From {template}", plan_code="pro", template=template),
            OPERATOR,
        )
    ).tenant
    assert created.template == template
    owner = tenancy.owner_of(created)
    assets = (await tenancy.call("ListAssets", pb.ListAssetsRequest(), owner)).assets
    machines = [a for a in assets if a.kind == pb.ASSET_KIND_MACHINE]
    spec = load_catalog().templates[template].data
    expected = [m["name"] for s in spec["layout"]["sites"] for line in s["lines"] for m in line["machines"]]
    assert sorted(m.name for m in machines) == sorted(expected)
    assert all(m.machine_type and m.ideal_cycle_s > 0 for m in machines)
    series = (await tenancy.call("ListSeries", pb.ListSeriesRequest(), owner)).series
    types = spec["machine_types"]
    assert len(series) == sum(len(types[m.machine_type]["series"]) for m in machines)


async def test_an_unknown_template_is_refused_and_nothing_is_made(tenancy):
    error = await rejected(
        tenancy.call(
            "CreateTenant",
            pb.CreateTenantRequest(name="Bakery", plan_code="starter", template="baking"),
            OPERATOR,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no template 'baking'" in error.details() and "cnc-machining" in error.details()


MANIFEST = """
tenant: {{slug: {slug}, name: Gyeongnam Stamping, plan: {plan}, template: metal-pressing}}
users:
  - {{email: {email}, display_name: Han So-hee, role: owner, password: a-long-password}}
sites:
  - name: Gimhae Plant
    lines:
      - name: Stamping Line A
        machines:
          - {{name: PRESS-11, type: press, device: press-11-edge}}
"""


async def test_tenants_apply_is_idempotent_and_follows_the_plan(tmp_path, admin_url, tenancy):
    slug = f"gn-stamping-{tmp_path.name[-6:].lower()}".replace("_", "-")
    email = f"owner@{slug}.example"
    env = Env({"SF_DATABASE_URL": admin_url})
    (tmp_path / "gn.yaml").write_text(
        textwrap.dedent(MANIFEST.format(slug=slug, plan="starter", email=email))
    )
    first = (await apply(tmp_path, env))[0]
    assert first.created and first.users_added == [email] and list(first.credentials) == ["press-11-edge"]
    assert any("credential sfd_" in line for line in describe(first))
    again = (await apply(tmp_path, env))[0]
    assert (again.created, again.plan_changed, again.users_added, again.credentials) == (False, False, [], {})
    (tmp_path / "gn.yaml").write_text(
        textwrap.dedent(MANIFEST.format(slug=slug, plan="standard", email=email))
    )
    assert (await apply(tmp_path, env))[0].plan_changed
    tenants = (await tenancy.call("ListTenants", pb.ListTenantsRequest(page_size=200), OPERATOR)).tenants
    mine = [t for t in tenants if t.name == "Gyeongnam Stamping" and t.template == "metal-pressing"]
    assert [t.plan_code for t in mine] == ["standard"]
