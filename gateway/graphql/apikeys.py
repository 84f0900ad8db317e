"""API keys for developers: listed, created (the key shown once) and revoked by the tenant's managers
(tenancy checks the role and the plan's quota; keys are stored hashed)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.paging import After, PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import IsTenantUser
from gateway.graphql.scalars import Timestamp
from services.runtime import errors
from sfcloud.v1 import tenancy_pb2


@strawberry.enum(description="What an API key may do.")
class ApiKeyScope(enum.Enum):
    READ = strawberry.enum_value("read", description="Query the tenant's data.")
    WRITE = strawberry.enum_value("write", description="Change the tenant's configuration.")
    INGEST = strawberry.enum_value("ingest", description="Send telemetry.")


@strawberry.type(description="An API key, without the key itself (only its visible prefix).")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id.")
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(description="The key's visible start, to recognise it.")
    scopes: list[ApiKeyScope] = strawberry.field(description="What the key may do.")
    created_at: Timestamp = strawberry.field(description="When it was made.")
    expires_at: Timestamp | None = strawberry.field(description="When it stops working; null: never.")
    last_used_at: Timestamp | None = strawberry.field(description="When it was last used; null: never.")
    revoked: bool = strawberry.field(description="True once revoked: it works no more.")

    @classmethod
    def from_pb(cls, k: tenancy_pb2.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(k.id),
            name=k.name,
            prefix=k.prefix,
            scopes=[ApiKeyScope(s) for s in k.scopes],
            created_at=k.created_ns,
            expires_at=k.expires_ns or None,
            last_used_at=k.last_used_ns or None,
            revoked=k.revoked,
        )


@strawberry.type(description="A new API key, or why none was made.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="The key's record; null when it was refused.")
    key: str | None = strawberry.field(
        description="The key itself, shown only here: store it now (sfcloud keeps only its hash)."
    )
    errors: list[UserError] = strawberry.field(description="Empty when the key was made.")


@strawberry.type(description="The outcome of revoking an API key.")
class RevokeApiKeyPayload:
    revoked: bool = strawberry.field(description="True when the key was revoked.")
    errors: list[UserError] = strawberry.field(description="Empty when the key was revoked.")


@strawberry.type(description="A page of the tenant's API keys, oldest first.")
class ApiKeyConnection:
    nodes: list[ApiKey]
    page_info: PageInfo


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        permission_classes=[IsTenantUser],
        description="The tenant's API keys, revoked ones too.",
        deprecation_reason="Use apiKeysConnection: a cursor connection.",
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        ctx = info.context
        response = await ctx.backends.call(
            ctx.backends.tenancy.ListApiKeys, tenancy_pb2.ListApiKeysRequest(), ctx.principal
        )
        return [ApiKey.from_pb(k) for k in response.api_keys]

    @strawberry.field(
        permission_classes=[IsTenantUser],
        description="The tenant's API keys, revoked ones too, oldest first, a page at a time (owners and admins).",
    )
    async def api_keys_connection(self, info: Info, first: int = 50, after: After = None) -> ApiKeyConnection:
        ctx = info.context
        request = tenancy_pb2.ListApiKeysRequest(page_size=checked_first(first), page_token=after or "")
        found = await ctx.backends.call(ctx.backends.tenancy.ListApiKeys, request, ctx.principal)
        return ApiKeyConnection(
            nodes=[ApiKey.from_pb(k) for k in found.api_keys], page_info=page_info_from(found.next_page_token)
        )


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        permission_classes=[IsTenantUser],
        description="Make an API key (owners and admins; within the plan's number of keys).",
    )
    async def create_api_key(
        self,
        info: Info,
        name: str,
        scopes: list[ApiKeyScope],
        expires_in_days: Annotated[
            int, strawberry.argument(description="0: never expires; at most 3650.")
        ] = 0,
    ) -> CreateApiKeyPayload:
        if expires_in_days < 0:  # the wire type is unsigned
            return CreateApiKeyPayload(api_key=None, key=None, errors=[_negative_days()])
        ctx = info.context
        request = tenancy_pb2.CreateApiKeyRequest(
            name=name, scopes=[s.value for s in scopes], expires_in_days=expires_in_days
        )
        made, problems = await attempt(
            ctx.backends.call(ctx.backends.tenancy.CreateApiKey, request, ctx.principal),
            also=(errors.ResourceExhausted,),  # the plan's number of keys is reached
        )
        if made is None:
            return CreateApiKeyPayload(api_key=None, key=None, errors=problems)
        return CreateApiKeyPayload(api_key=ApiKey.from_pb(made.api_key), key=made.key, errors=[])

    @strawberry.mutation(
        permission_classes=[IsTenantUser], description="Revoke an API key: it stops working within seconds."
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyPayload:
        ctx = info.context
        request = tenancy_pb2.RevokeApiKeyRequest(key_id=str(id))
        done, problems = await attempt(
            ctx.backends.call(ctx.backends.tenancy.RevokeApiKey, request, ctx.principal)
        )
        return RevokeApiKeyPayload(revoked=done is not None, errors=problems)


def _negative_days() -> UserError:
    return UserError(field="expiresInDays", code="INVALID_ARGUMENT", message="must be 0 (never) or more")
