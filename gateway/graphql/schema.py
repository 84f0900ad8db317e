"""The whole GraphQL schema: the domain modules merged, with the protective extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from gateway.graphql.account import AccountMutation, AccountQuery
from gateway.graphql.assets import AssetQuery
from gateway.graphql.devices import DeviceQuery
from gateway.graphql.errors import ErrorBoundary
from gateway.graphql.retention import RetentionQuery
from gateway.graphql.telemetry import TelemetryQuery, TelemetrySubscription

Query = merge_types("Query", (AssetQuery, TelemetryQuery, DeviceQuery, AccountQuery, RetentionQuery))
Mutation = merge_types("Mutation", (AccountMutation,))
Subscription = merge_types("Subscription", (TelemetrySubscription,))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            QueryDepthLimiter(max_depth=10),
            MaxAliasesLimiter(max_alias_count=15),
            MaxTokensLimiter(max_token_count=2000),
            ErrorBoundary(),
        ],
    )
