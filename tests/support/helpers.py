"""Suppliers with a signed-in admin, tenants resold by them, and GraphQL documents of the directory and
ticket tests (docs/SUPPORT.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import grpc

from services.runtime.tokens import TokenSigner
from sfcloud.v1 import tenancy_pb2 as pb
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import OPERATOR, Tenancy
from tests.e2e.provision import GraphQLClient


@dataclass
class SupplierAccount:
    id: str
    name: str
    client: GraphQLClient  # signed in as the supplier's admin
    email: str  # the admin's sign-in, for a browser
    password: str


async def supplier(stack, signer: TokenSigner, name: str, role: str = "admin") -> SupplierAccount:
    """A new supplier and a GraphQL client signed in as one of its staff (its admin by default)."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        tenancy = Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)
        made = (
            await tenancy.call(
                "CreateSupplier", pb.CreateSupplierRequest(name=f"{name} {secrets.token_hex(3)}"), OPERATOR
            )
        ).supplier
    email, password = await supplier_user(stack, signer, made.id, role, name)
    client = await GraphQLClient.login(stack.gateway_url, email, password)
    return SupplierAccount(made.id, made.name, client, email, password)


async def supplier_user(
    stack, signer: TokenSigner, supplier_id: str, role: str, name: str = "Staff"
) -> tuple[str, str]:
    """The sign-in (email, password) of a new member of the supplier with ``role`` (admin or staff)."""
    email, password = f"{role}-{secrets.token_hex(4)}@supplier.example", secrets.token_urlsafe(16)
    request = pb.CreateSupplierUserRequest(
        supplier_id=supplier_id, email=email, password=password, display_name=name, role=role
    )
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        await Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer).call(
            "CreateSupplierUser", request, OPERATOR
        )
    return email, password


async def owner_client(stack, tenant) -> GraphQLClient:
    return await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)


def data(answer: dict) -> dict:
    """The answer's data, after checking it carries no errors."""
    assert not answer.get("errors"), answer
    return answer["data"]


def error_codes(answer: dict) -> set[str]:
    return {e["extensions"]["code"] for e in answer.get("errors") or []}


TICKET_FIELDS = (
    "id status subject createdAt firstResponseAt resolvedAt closedAt responseDueAt resolutionDueAt"
    " responseBreached resolutionBreached"
)
SNAPSHOT_FIELDS = (
    "takenAt ingestErrorRate conflictRate telemetryUnavailable"
    " devices { deviceId name lastBatchAt lastPointAt storedBatches refusedBatches points conflicts }"
    " recentAlarms { alarmId ruleName severity state }"
)
OPEN_TICKET = (
    "mutation($subject: String!, $body: String!) { openTicket(subject: $subject, body: $body) {"
    f" ticket {{ {TICKET_FIELDS} }} snapshot {{ {SNAPSHOT_FIELDS} }} errors {{ field code message }} }} }}"
)
SET_STATUS = (
    "mutation($id: ID!, $status: TicketStatus!) { setTicketStatus(id: $id, status: $status) {"
    f" ticket {{ {TICKET_FIELDS} }} errors {{ field code message }} }} }}"
)
COMMENT = (
    "mutation($id: ID!, $body: String!) { commentTicket(id: $id, body: $body) {"
    f" ticket {{ {TICKET_FIELDS} }} errors {{ field code message }} }} }}"
)
TICKET = (
    f"query($id: ID!) {{ ticket(id: $id) {{ ticket {{ {TICKET_FIELDS} }} snapshot {{ {SNAPSHOT_FIELDS} }}"
    " history { side kind body fromStatus toStatus } } }"
)


async def open_ticket(
    client: GraphQLClient, subject: str = "Line 1 stopped reporting", body: str = ""
) -> dict:
    payload = data(await client.query(OPEN_TICKET, subject=subject, body=body))["openTicket"]
    assert payload["errors"] == [], payload
    return payload
