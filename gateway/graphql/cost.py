"""The cost of a GraphQL operation: how many items of lists it asks for, nested lists multiplied.

A field that returns an object or a list of objects costs ``size * (1 + cost of its selections)``;
a scalar field costs nothing by itself (the lists it sits in are counted). The size is

- the value of a size argument (`first`, `last`, `limit`, `columns`), given, a variable or the default;
- for a field with `from`, `to` and `bucket` or `calendar` arguments (aggregates), the buckets the range
  holds (a calendar bucket counted as a day), times the series asked for (`seriesIds`);
- 1 for the `nodes` of a connection (`<Type>Connection`): its field's `first` counted them already;
- else, for a field returning a list, the length of a list argument (`series(ids: [...])`);
- else, for a field returning a list, `DEFAULT_LIST_SIZE` (an estimate: the tree of one plant);
- else 1.

So `points(first: 1000000) { timestamps values }` costs 1,000,000 and `machines { series { latest
{ value } } }` costs 50 * (1 + 50 * (1 + 1)). The cost is checked before anything runs, as a
validation rule, against the caller's plan (`graphql_max_cost`). The same walk refuses a connection's
`first` outside 1 to its field's maximum (`paging.py`): `first: 10001` never reaches a resolver; and a
raw read (a field returning `PointPage`: `points`, `sharedPoints`) whose range `to - from` is wider than
the plan's `raw_window_days` (`services/runtime/plans.py`; analytics refuses it again for gRPC callers).
Both bounds are required arguments of a raw read, so a range is never open-ended. Aggregates and charts are
not raw reads: their cost is their buckets or columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.pyutils import Undefined

from gateway.graphql.paging import most_first
from gateway.graphql.scalars import parse_duration, parse_timestamp
from services.runtime.plans import DAY_NS, RAW_WINDOW_REASON, too_wide

SIZE_ARGUMENTS = ("first", "last", "limit", "columns")
DEFAULT_LIST_SIZE = 50
RAW_READS = ("PointPage",)  # the types a read of raw points returns


class _Costing:
    """One document's operations costed, each fragment once."""

    def __init__(
        self, context: ValidationContext, variables: Mapping[str, Any], raw_window_days: int
    ) -> None:
        self.schema: GraphQLSchema = context.schema
        self.variables = variables
        self.raw_window_days = raw_window_days
        self.fragments = {
            f.name.value: f for f in context.document.definitions if hasattr(f, "type_condition")
        }
        self.fragment_costs: dict[str, int] = {}
        self.visiting: set[str] = set()
        self.defaults: dict[str, Any] = {}
        self.refused: list[GraphQLError] = []  # arguments out of range, found on the way

    def operation(self, node: OperationDefinitionNode) -> int:
        self.fragment_costs.clear()  # a fragment's cost depends on the operation's variable defaults
        self.defaults = {v.variable.name.value: v.default_value for v in node.variable_definitions or ()}
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root) if root else 0

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        if selection_set is None or parent is None:
            return 0
        return sum(self.selection(s, parent) for s in selection_set.selections)

    def selection(self, node: Any, parent: GraphQLNamedType) -> int:
        if isinstance(node, FieldNode):
            return self.field(node, parent)
        if isinstance(node, InlineFragmentNode):
            condition = node.type_condition
            return self.selections(
                node.selection_set, self.schema.get_type(condition.name.value) if condition else parent
            )
        if isinstance(node, FragmentSpreadNode):
            return self.fragment(node.name.value)
        return 0

    def fragment(self, name: str) -> int:
        if name not in self.fragment_costs:
            definition = self.fragments.get(name)
            if definition is None or name in self.visiting:  # unknown or cyclic: other rules report it
                return 0
            self.visiting.add(name)
            on = self.schema.get_type(definition.type_condition.name.value)
            self.fragment_costs[name] = self.selections(definition.selection_set, on)
            self.visiting.discard(name)
        return self.fragment_costs[name]

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if node.name.value.startswith("__"):  # introspection stays free for developers' tools
            return 0
        definition: GraphQLField | None = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None or not is_composite_type(get_named_type(definition.type)):
            return 0
        returns = get_named_type(definition.type)
        if returns.name in RAW_READS:
            self.raw_range(node, definition)
        children = self.selections(node.selection_set, returns)
        return self.size(node, definition, parent) * (1 + children)

    def size(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType) -> int:
        if node.name.value == "nodes" and parent.name.endswith("Connection"):
            return 1
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in SIZE_ARGUMENTS:
            if name in definition.args:
                value = self.value(given.get(name), definition.args[name].default_value)
                if name == "first" and get_named_type(definition.type).name.endswith("Connection"):
                    self.page(node, value)
                return max(0, value) if isinstance(value, int) else 1
        buckets = self.buckets(given, definition)
        if buckets is not None:
            return buckets
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        for name, argument in definition.args.items():
            if is_list_type(get_nullable_type(argument.type)):
                value = self.value(given.get(name), argument.default_value)
                if isinstance(value, list):
                    return len(value)
        return DEFAULT_LIST_SIZE

    def buckets(self, given: dict[str, Any], definition: GraphQLField) -> int | None:
        """An aggregate's buckets times its series; None for other fields or a range not known here."""
        span = self.span(given, definition) if "bucket" in definition.args else None
        if span is None:
            return None
        try:
            bucket = self.value(given.get("bucket"), None)
            width = parse_duration(bucket) if bucket is not None else DAY_NS
        except (TypeError, ValueError):
            return None  # malformed: the scalar's own parsing refuses it
        series = self.value(given.get("seriesIds"), None)
        return max(1, -(-span // width)) * (len(series) if isinstance(series, list) else 1)

    def span(self, given: dict[str, Any], definition: GraphQLField) -> int | None:
        """``to - from`` in nanoseconds; None for a field without both or a range not known here."""
        if not {"from", "to"} <= definition.args.keys():
            return None
        try:
            end, start = (parse_timestamp(self.value(given.get(name), None)) for name in ("to", "from"))
        except (TypeError, ValueError):
            return None  # malformed or missing: the scalar's own parsing or the required argument refuses it
        return end - start

    def raw_range(self, node: FieldNode, definition: GraphQLField) -> None:
        span = self.span({a.name.value: a.value for a in node.arguments or ()}, definition)
        message = None if span is None else too_wide(span, self.raw_window_days)
        if message is not None:
            extensions = {
                "code": "BAD_USER_INPUT",
                "reason": RAW_WINDOW_REASON,
                "windowDays": self.raw_window_days,
                "rangeSeconds": span / 10**9,
            }
            self.refused.append(GraphQLError(f"{node.name.value}: {message}", node, extensions=extensions))

    def page(self, node: FieldNode, first: Any) -> None:
        most = most_first(node.name.value)
        if isinstance(first, int) and not 1 <= first <= most:
            extensions = {
                "code": "BAD_USER_INPUT",
                "reason": "FIRST_OUT_OF_RANGE",
                "first": first,
                "max": most,
            }
            message = f"first: must be between 1 and {most} ({node.name.value} was asked for {first:,})"
            self.refused.append(GraphQLError(message, node, extensions=extensions))

    def value(self, node: Any, default: Any) -> Any:
        if node is None:
            return None if default is Undefined else default
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            return self.value(self.defaults.get(name), default)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        if isinstance(node, StringValueNode):
            return node.value
        return None


@cache
def _too_costly(max_cost: int) -> str:
    return (
        f"the query's cost {{cost:,}} is over your plan's limit of {max_cost:,}: ask for fewer items "
        "(first, limit, columns, ids) or fewer nested lists (see docs/API.md, Limits)"
    )


def cost_rule(
    variables: Mapping[str, Any] | None, max_cost: int, raw_window_days: int
) -> type[ASTValidationRule]:
    """A validation rule refusing each operation of the document that costs more than ``max_cost``, asks
    for a page out of range or reads raw points over more than ``raw_window_days``."""

    class MaxCost(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.costing = _Costing(context, variables or {}, raw_window_days)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = self.costing.operation(node)
            for error in self.costing.refused:
                self.report_error(error)
            self.costing.refused.clear()
            if cost > max_cost:
                message = _too_costly(max_cost).format(cost=cost)
                extensions = {
                    "code": "BAD_USER_INPUT",
                    "reason": "QUERY_TOO_COSTLY",
                    "cost": cost,
                    "maxCost": max_cost,
                }
                self.report_error(GraphQLError(message, node, extensions=extensions))

    return MaxCost
