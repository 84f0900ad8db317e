"""The control plane through GraphQL, as a supplier's portal uses it: create a tenant from a plan and an
industry template, list the tenants it resells page by page, change a plan, suspend and resume; a
tenant's owner registers, re-keys and revokes a device and invites a colleague; usage and the audit log;
and each refusal (another supplier's tenant, an unknown plan, a key where a person is needed)."""

from __future__ import annotations

import datetime as dt

import grpc

from services.runtime.principal import Kind, Principal, Role
from services.tenancy.catalog import load_plans
from sf.seeding import create_tenant
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import Tenancy
from tests.support.helpers import data, error_codes, owner_client, supplier

TENANT = "id name planCode supplierId state template"
CREATE = (
    "mutation($name: String!, $plan: String!, $template: String) { createTenant(name: $name, planCode: $plan,"
    f" template: $template, trial: true) {{ tenant {{ {TENANT} }} errors {{ field code message }} }} }}"
)
LIST = (
    f"query($after: String) {{ tenants(first: 2, after: $after) {{ nodes {{ {TENANT} }}"
    " pageInfo { endCursor hasNextPage } } }"
)
SUSPEND = f'mutation($id: ID!) {{ suspendTenant(tenantId: $id, reason: "unpaid") {{ tenant {{ {TENANT} }} errors {{ code }} }} }}'
RESUME = f'mutation($id: ID!) {{ resumeTenant(tenantId: $id, reason: "paid") {{ tenant {{ {TENANT} }} errors {{ code }} }} }}'
CHANGE = (
    "mutation($id: ID!, $plan: String!) { changePlan(tenantId: $id, planCode: $plan) {"
    f" tenant {{ {TENANT} }} errors {{ field code }} }} }}"
)


async def test_a_supplier_creates_lists_and_runs_its_tenants(stack, signer):
    mine, theirs = await supplier(stack, signer, "Portal S"), await supplier(stack, signer, "Portal T")
    try:
        made = []
        for n in range(3):
            answer = data(
                await mine.client.query(CREATE, name=f"SME {n}", plan="standard", template="cnc-machining")
            )
            assert answer["createTenant"]["errors"] == []
            made.append(answer["createTenant"]["tenant"])
        assert {t["supplierId"] for t in made} == {mine.id} and {t["state"] for t in made} == {"TRIAL"}
        assert {t["template"] for t in made} == {"cnc-machining"}

        listed, after = [], None
        while True:
            page = data(await mine.client.query(LIST, after=after))["tenants"]
            listed += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert {t["id"] for t in listed} == {t["id"] for t in made}
        assert (
            data(await theirs.client.query(LIST))["tenants"]["nodes"] == []
        )  # another supplier's are not its

        first = made[0]["id"]
        assert (
            data(await mine.client.query(SUSPEND, id=first))["suspendTenant"]["tenant"]["state"]
            == "SUSPENDED"
        )
        assert data(await mine.client.query(RESUME, id=first))["resumeTenant"]["tenant"]["state"] == "ACTIVE"
        changed = data(await mine.client.query(CHANGE, id=first, plan="pro"))["changePlan"]
        assert changed["tenant"]["planCode"] == "pro" and changed["errors"] == []
        unknown = data(await mine.client.query(CHANGE, id=first, plan="platinum"))["changePlan"]
        assert unknown["tenant"] is None and unknown["errors"][0]["code"]
        bad = data(await mine.client.query(CREATE, name="SME x", plan="platinum", template=None))[
            "createTenant"
        ]
        assert bad["tenant"] is None and bad["errors"]

        stranger = await theirs.client.query(SUSPEND, id=first)  # T does not run S's tenant
        assert stranger.get("errors") or stranger["data"]["suspendTenant"]["errors"], stranger
        audit = data(
            await mine.client.query("{ auditEvents(first: 50) { nodes { action target outcome } } }")
        )
        actions = {e["action"] for e in audit["auditEvents"]["nodes"]}
        assert {"tenant.create"} <= actions, actions
    finally:
        await mine.client.close()
        await theirs.client.close()


async def test_a_tenant_owner_runs_devices_invites_and_reads_usage(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Device owner")
    client = await owner_client(stack, tenant)
    try:
        made = data(
            await client.query(
                'mutation { createDevice(name: "press-7") { deviceId credential errors { code } } }'
            )
        )
        device = made["createDevice"]
        assert device["credential"] and device["errors"] == []
        rotated = data(
            await client.query(
                "mutation($id: ID!) { rotateDeviceCredential(id: $id) { credential errors { code } } }",
                id=device["deviceId"],
            )
        )["rotateDeviceCredential"]
        assert rotated["credential"] and rotated["credential"] != device["credential"]
        revoked = data(
            await client.query(
                "mutation($id: ID!) { revokeDevice(id: $id) { revoked errors { code } } }",
                id=device["deviceId"],
            )
        )
        assert revoked["revokeDevice"] == {"revoked": True, "errors": []}
        listed = data(await client.query("{ devices { id revoked } }"))["devices"]
        assert {"id": device["deviceId"], "revoked": True} in listed
        unknown = data(
            await client.query(
                'mutation { revokeDevice(id: "00000000-0000-0000-0000-000000000000") { revoked errors { code } } }'
            )
        )
        assert (
            unknown["revokeDevice"]["revoked"] is False
            and unknown["revokeDevice"]["errors"][0]["code"] == "DEVICE_NOT_FOUND"
        )

        invited = data(
            await client.query(
                'mutation { inviteUser(email: "colleague@sme.example", role: OPERATOR) { invitationId errors { code } } }'
            )
        )
        assert invited["inviteUser"]["invitationId"] and invited["inviteUser"]["errors"] == []
        today = dt.date.today()
        usage = data(
            await client.query(
                "query($a: Date!, $b: Date!) { usage(firstDay: $a, lastDay: $b) { tenantId day points } }",
                a=(today - dt.timedelta(days=7)).isoformat(),
                b=today.isoformat(),
            )
        )
        assert {u["tenantId"] for u in usage["usage"]} <= {str(tenant.id)}
        too_many = await client.query("{ tenants(first: 0) { nodes { id } } }")
        assert error_codes(too_many) == {"BAD_USER_INPUT"}
    finally:
        await client.close()


async def test_the_plans_are_the_catalogs_in_its_order(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Plan reader")
    client = await owner_client(stack, tenant)
    try:
        plans = data(
            await client.query("{ plans { code name priceKrwMonth quotas { name value } features } }")
        )["plans"]
    finally:
        await client.close()
    catalog = list(load_plans().values())
    assert [p["code"] for p in plans] == [p.code for p in catalog]
    for got, plan in zip(plans, catalog, strict=True):
        assert got["priceKrwMonth"] == plan.price_krw_month and got["name"] == plan.name
        assert {q["name"]: q["value"] for q in got["quotas"]} == plan.quotas
        assert got["features"] == sorted(k for k, on in plan.features.items() if on)


async def test_a_tenants_people_are_listed_page_by_page_to_its_people_only(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Team")
    other = await create_tenant(stack.targets["tenancy"], signer, "Other team")
    owner = Principal(Kind.USER, "owner", tenant_id=tenant.id, role=Role.OWNER)
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        for name, role in (("ana", pb.ROLE_ADMIN), ("bo", pb.ROLE_OPERATOR), ("cy", pb.ROLE_VIEWER)):
            request = pb.CreateUserRequest(
                email=f"{name}-{tenant.id.hex[:6]}@team.example",
                password="a-long-password-1",
                display_name=name,
                role=role,
            )
            await tenancy.provision(owner.tenant_id, request)
    query = (
        "query($after: String) { members(first: 2, after: $after) {"
        " nodes { email displayName role } pageInfo { endCursor hasNextPage } } }"
    )
    client, stranger = await owner_client(stack, tenant), await owner_client(stack, other)
    try:
        people, after = [], None
        while True:
            page = data(await client.query(query, after=after))["members"]
            people += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert [p["email"] for p in people] == sorted((p["email"] for p in people), key=str.lower)
        assert {(p["displayName"], p["role"]) for p in people} >= {
            ("ana", "ADMIN"),
            ("bo", "OPERATOR"),
            ("cy", "VIEWER"),
        }
        assert {p["role"] for p in people} == {"OWNER", "ADMIN", "OPERATOR", "VIEWER"} and len(people) == 4
        theirs = data(await stranger.query(query))["members"]["nodes"]
        assert [p["email"] for p in theirs] == [other.owner_email]  # its own owner, none of the first team
        bad = await client.query(query, after="not-a-token")
        assert error_codes(bad) == {"BAD_USER_INPUT"}
    finally:
        await client.close()
        await stranger.close()
