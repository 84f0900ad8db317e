"""NotifyRetention: only the worker, for the tenant of its token, has the owners and admins mailed (a
real local SMTP server), each notice once; bad input is refused naming the field."""

from __future__ import annotations

import secrets
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.runtime.principal import Kind, Principal, Role
from services.runtime.tokens import service_principal
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR, rejected
from tests.e2e.test_bad_input import reason_of

DAY_NS = 86400 * 10**9
NOW_NS = 1_796_000_000 * 10**9  # 2026-11-30


def notice(**changes) -> pb.NotifyRetentionRequest:
    fields = {
        "notice_ns": NOW_NS,
        "deletes_before_ns": NOW_NS - 23 * DAY_NS,
        "oldest_end_ns": NOW_NS - 40 * DAY_NS,
        "retention_days": 30,
        "effective_ns": NOW_NS + 7 * DAY_NS,
    }
    return pb.NotifyRetentionRequest(**(fields | changes))


def violated_field(error: grpc.aio.AioRpcError) -> str:
    bad = error_details_pb2.BadRequest()
    next(d for d in rpc_status.from_call(error).details if d.Unpack(bad))
    return bad.field_violations[0].field


async def member(tenancy, owner: Principal, role: int) -> str:
    email = f"m-{secrets.token_hex(4)}@example.com"
    request = pb.CreateUserRequest(email=email, password="p" * 12, display_name="M", role=role)
    await tenancy.provision(owner.tenant_id, request)
    return email


def mails_to(inbox, emails: set[str]) -> list:
    return [m for m in inbox.messages if m["To"] in emails]


async def test_the_owners_and_admins_are_mailed_once_per_notice(mailing_tenancy, inbox):
    tenancy = mailing_tenancy
    tenant, owner = await tenancy.tenant(OPERATOR, plan="starter")
    owner_email = await member(tenancy, owner, pb.ROLE_OWNER)
    admin_email = await member(tenancy, owner, pb.ROLE_ADMIN)
    viewer_email = await member(tenancy, owner, pb.ROLE_VIEWER)
    worker = service_principal("worker", uuid.UUID(tenant.id))
    everyone = {owner_email, admin_email, viewer_email}

    answer = await tenancy.call("NotifyRetention", notice(), worker)
    assert (answer.recipients, answer.already_sent) == (2, False)
    mails = mails_to(inbox, everyone)
    assert sorted(m["To"] for m in mails) == sorted([owner_email, admin_email])
    body = mails[0].get_payload(decode=True).decode()
    assert mails[0]["Subject"] == f"sfcloud will delete data of {tenant.name} older than 30 days"
    for text in (
        "Starter",
        "30 days",
        "2026-11-07",
        "2026-10-21",
        "2026-12-07",
        "export",
        "keeps data longer",
    ):
        assert text in body, text

    # The same notice again (the worker lost the answer, or crashed before marking it): not sent twice.
    again = await tenancy.call("NotifyRetention", notice(), worker)
    assert (again.recipients, again.already_sent) == (0, True)
    # A new notice (the retention got shorter) is a new mail.
    newer = await tenancy.call("NotifyRetention", notice(notice_ns=NOW_NS + 1), worker)
    assert (newer.recipients, newer.already_sent) == (2, False)
    assert len(mails_to(inbox, everyone)) == 4


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"notice_ns": 0}, "notice_ns"),
        ({"oldest_end_ns": NOW_NS - 23 * DAY_NS}, "oldest_end_ns"),
        ({"oldest_end_ns": -1}, "oldest_end_ns"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 36_501}, "retention_days"),
        ({"effective_ns": NOW_NS - 1}, "effective_ns"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(mailing_tenancy, changes, field):
    tenant, _ = await mailing_tenancy.tenant(OPERATOR, plan="starter")
    worker = service_principal("worker", uuid.UUID(tenant.id))
    error = await rejected(mailing_tenancy.call("NotifyRetention", notice(**changes), worker))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_field(error) == field


async def test_only_the_worker_for_the_tenant_of_its_token_may_ask(mailing_tenancy, inbox):
    tenant, owner = await mailing_tenancy.tenant(OPERATOR, plan="starter")
    tenant_id = uuid.UUID(tenant.id)
    sent = len(inbox.messages)
    for caller, reason in (
        (owner, "NOT_A_SERVICE"),
        (Principal(Kind.USER, "x", tenant_id=tenant_id, role=Role.ADMIN), "NOT_A_SERVICE"),
        (service_principal("gateway", tenant_id), "NOT_A_SERVICE"),
        (service_principal("worker"), "NO_TENANT"),  # a tenant in the request body would not count
        (OPERATOR, "NOT_A_SERVICE"),
    ):
        error = await rejected(mailing_tenancy.call("NotifyRetention", notice(), caller))
        assert (error.code(), reason_of(error)) == (grpc.StatusCode.PERMISSION_DENIED, reason)
    unknown = service_principal("worker", uuid.uuid4())
    error = await rejected(mailing_tenancy.call("NotifyRetention", notice(), unknown))
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "TENANT_NOT_FOUND")
    assert len(inbox.messages) == sent
