"""The cost of a GraphQL operation: how many items of lists it asks for, nested lists multiplied.

A field that returns an object or a list of objects costs ``size * (1 + cost of its selections)``;
a scalar field costs nothing by itself (the lists it sits in are counted). The size is

- the value of a size argument (`first`, `last`, `limit`, `columns`), given, a variable or the default;
- 1 for the `nodes` of a connection (`<Type>Connection`): its field's `first` counted them already;
- else, for a field returning a list, the length of a list argument (`series(ids: [...])`);
- else, for a field returning a list, `DEFAULT_LIST_SIZE` (an estimate: the tree of one plant);
- else 1.

So `points(first: 1000000) { timestamps values }` costs 1,000,000 and `machines { series { latest
{ value } } }` costs 50 * (1 + 50 * (1 + 1)). The cost is checked before anything runs, as a
validation rule, against the caller's plan (`graphql_max_cost`).
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
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.pyutils import Undefined

SIZE_ARGUMENTS = ("first", "last", "limit", "columns")
DEFAULT_LIST_SIZE = 50


class _Costing:
    """One document's operations costed, each fragment once."""

    def __init__(self, context: ValidationContext, variables: Mapping[str, Any]) -> None:
        self.schema: GraphQLSchema = context.schema
        self.variables = variables
        self.fragments = {
            f.name.value: f for f in context.document.definitions if hasattr(f, "type_condition")
        }
        self.fragment_costs: dict[str, int] = {}
        self.visiting: set[str] = set()
        self.defaults: dict[str, Any] = {}

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
        children = self.selections(node.selection_set, get_named_type(definition.type))
        return self.size(node, definition, parent) * (1 + children)

    def size(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType) -> int:
        if node.name.value == "nodes" and parent.name.endswith("Connection"):
            return 1
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in SIZE_ARGUMENTS:
            if name in definition.args:
                value = self.value(given.get(name), definition.args[name].default_value)
                return max(0, value) if isinstance(value, int) else 1
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        for name, argument in definition.args.items():
            if is_list_type(get_nullable_type(argument.type)):
                value = self.value(given.get(name), argument.default_value)
                if isinstance(value, list):
                    return len(value)
        return DEFAULT_LIST_SIZE

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
        return None


@cache
def _too_costly(max_cost: int) -> str:
    return (
        f"the query's cost {{cost:,}} is over your plan's limit of {max_cost:,}: ask for fewer items "
        "(first, limit, columns, ids) or fewer nested lists (see docs/API.md, Limits)"
    )


def cost_rule(variables: Mapping[str, Any] | None, max_cost: int) -> type[ASTValidationRule]:
    """A validation rule refusing each operation of the document that costs more than ``max_cost``."""

    class MaxCost(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.costing = _Costing(context, variables or {})

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = self.costing.operation(node)
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
