"""The whole GraphQL schema: the domain modules merged, with the protective extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from gateway.graphql.assets import AssetQuery
from gateway.graphql.errors import ErrorBoundary
from gateway.graphql.telemetry import TelemetryQuery, TelemetrySubscription

Query = merge_types("Query", (AssetQuery, TelemetryQuery))
Subscription = merge_types("Subscription", (TelemetrySubscription,))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        subscription=Subscription,
        extensions=[
            QueryDepthLimiter(max_depth=10),
            MaxAliasesLimiter(max_alias_count=15),
            MaxTokensLimiter(max_token_count=2000),
            ErrorBoundary(),
        ],
    )
