"""The whole GraphQL schema: the domain modules merged, with the protective extensions."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from opentelemetry.trace import Tracer
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.graphql.account import AccountMutation, AccountQuery
from gateway.graphql.alarm_rules import AlarmRuleMutation, AlarmRuleQuery
from gateway.graphql.alarms import AlarmMutation, AlarmQuery, AlarmSubscription
from gateway.graphql.anomaly import AnomalyMutation, AnomalyQuery, AnomalySubscription
from gateway.graphql.apikeys import ApiKeyMutation, ApiKeyQuery
from gateway.graphql.asset_tree import AssetTreeMutation
from gateway.graphql.assets import AssetQuery
from gateway.graphql.brand import BrandMutation, BrandQuery
from gateway.graphql.devices import DeviceMutation, DeviceQuery
from gateway.graphql.directory import DirectoryMutation, DirectoryQuery
from gateway.graphql.errors import ErrorBoundary
from gateway.graphql.executor import PerEventExecutor
from gateway.graphql.exports import ExportMutation, ExportQuery
from gateway.graphql.level import LevelQuery
from gateway.graphql.limits import OperationLimits
from gateway.graphql.production import ProductionQuery
from gateway.graphql.production_mutations import ProductionMutation
from gateway.graphql.programme import ProgrammeMutation, ProgrammeQuery
from gateway.graphql.retention import RetentionQuery
from gateway.graphql.scalars import SCALARS
from gateway.graphql.sharing import SharingMutation, SharingQuery
from gateway.graphql.staff import StaffQuery
from gateway.graphql.telemetry import TelemetryQuery, TelemetrySubscription
from gateway.graphql.tenants import TenantMutation, TenantQuery
from gateway.graphql.tickets import TicketMutation, TicketQuery
from gateway.graphql.tracing import OperationSpan, default_tracer
from gateway.graphql.validations import ValidationMemory

Query = merge_types(
    "Query",
    (
        AssetQuery,
        TelemetryQuery,
        DeviceQuery,
        AccountQuery,
        ApiKeyQuery,
        RetentionQuery,
        ProductionQuery,
        ExportQuery,
        AlarmQuery,
        AlarmRuleQuery,
        LevelQuery,
        AnomalyQuery,
        DirectoryQuery,
        TicketQuery,
        SharingQuery,
        TenantQuery,
        StaffQuery,
        ProgrammeQuery,
        BrandQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        ApiKeyMutation,
        ProductionMutation,
        ExportMutation,
        AlarmMutation,
        AlarmRuleMutation,
        AnomalyMutation,
        DirectoryMutation,
        TicketMutation,
        SharingMutation,
        TenantMutation,
        DeviceMutation,
        AssetTreeMutation,
        ProgrammeMutation,
        BrandMutation,
    ),
)
Subscription = merge_types("Subscription", (TelemetrySubscription, AlarmSubscription, AnomalySubscription))


class Schema(strawberry.Schema):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.validations = ValidationMemory()  # answers of validation, by document, limits, variables

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logs nothing: the caller's mistakes are answered, not logged (a refused 1,000-alias document
        would otherwise be logged whole), and `ErrorBoundary` logs unexpected errors with their trace id."""


def build_schema(tracer: Tracer | None = None) -> strawberry.Schema:
    """The schema; its extensions are classes or factories, so each operation gets its own.
    Misspelled fields get no "Did you mean" suggestions (they would map the schema for a scraper)."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[partial(OperationSpan, tracer or default_tracer()), OperationLimits, ErrorBoundary],
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALARS),
        execution_context_class=PerEventExecutor,
    )
