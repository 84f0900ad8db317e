"""The executor every operation runs on: graphql-core's, with a subscription's memory kept per event
and lists of plain objects completed in one pass.

Memory per event: graphql-core 3.3.2 runs each subscription event on a shallow copy of the
subscription's executor, so every event shares one memo of collected subfields. The memo is keyed by
the identity of field lists that each event collects anew, so no entry is ever found again, and none is
ever dropped: a live subscription grew by an entry (~1 KB) per value it sent for as long as it lived. In
the soak, 100 subscribers at 100 values a second grew the gateway by ~7.5 MB a minute. Each event now
gets a memo of its own, which is all the memo can serve (lists within the event's answer).

Plain lists: graphql-core completes a list of objects item by item and field by field, building resolve
info and calling a resolver for each (50,000 buckets of an aggregate: ~0.6 s of a 0.8 s answer). When
every selected field of the item type only reads an attribute and is a scalar or enum, the answer is
the same rows built directly: `plain_rows` is that plan, taken only when nothing can tell the
difference (no arguments, directives left to graphql-core's own collection, no resolver, permission,
field extension or middleware, no type check); any other case, and any value it cannot serialize as
graphql-core would, goes the general way, which then raises the error graphql-core raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

STRAWBERRY_FIELD = "strawberry-definition"
Field = tuple[attrgetter, Callable[[Any], Any], bool]  # read, serialize, nullable


class Plan(NamedTuple):
    """An item's distinct fields, and its row's keys with the field each takes (``pick(values)``)."""

    fields: list[Field]
    keys: list[str]
    pick: itemgetter
    items_nullable: bool

    @property
    def single(self) -> bool:
        """One key: ``pick`` gives the value itself, not a tuple."""
        return len(self.keys) == 1


class PerEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> StrawberryGraphQLCoreExecutionContext:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}  # not the subscription's: see the module's docstring
        return executor

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if isinstance(result, list) and result and not _streamed(field_details_list):
            plan = self._plain_columns(return_type.of_type, field_details_list)
            rows = plain_rows(result, plan) if plan is not None else None
            if rows is not None:
                return rows
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plain_columns(self, item_type: GraphQLOutputType, field_details_list: Any) -> Plan | None:
        """How to build each item's row directly; None when it may not be."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return None
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        grouped, deferred, *_ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            return None
        fields: dict[str, Field] = {}
        keys: list[tuple[str, str]] = []  # response key (an alias or the field's name), attribute
        for key, details in grouped.items():
            found = _plain_field(object_type, details)
            if found is None:
                return None
            attribute, field = found
            fields[attribute] = field
            keys.append((key, attribute))
        position = {attribute: i for i, attribute in enumerate(fields)}
        return Plan(
            list(fields.values()),
            [key for key, _ in keys],
            itemgetter(*(position[attribute] for _, attribute in keys)),
            not isinstance(item_type, GraphQLNonNull),
        )


def _streamed(field_details_list: Any) -> bool:
    """`@stream` asks for the list in parts: graphql-core's own way."""
    return any(
        d.name.value == "stream" for details in field_details_list for d in details.node.directives or ()
    )


def _plain_field(object_type: GraphQLObjectType, details: Any) -> tuple[str, Field] | None:
    """The attribute a field reads and how, when it is plain."""
    node = details[0].node
    field_def = object_type.fields.get(node.name.value)
    if (
        field_def is None
        or field_def.args
        or node.arguments
        or not getattr(field_def.resolve, "_is_default", False)
    ):
        return None
    strawberry_field = field_def.extensions.get(STRAWBERRY_FIELD)
    if strawberry_field is None or strawberry_field.default_resolver is not getattr:
        return None
    leaf = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
        return None
    name = strawberry_field.python_name
    return name, (attrgetter(name), leaf.serialize, not isinstance(field_def.type, GraphQLNonNull))


def plain_rows(items: Iterable[Any], plan: Plan) -> list[dict[str, Any] | None] | None:
    """Each item's row, as graphql-core would complete it; None where it would not (a null it refuses, a
    value it cannot serialize), so that graphql-core's own way reports it. A field asked for under several
    aliases is read and serialized once an item."""
    rows: list[dict[str, Any] | None] = []
    for item in items:
        if item is None:
            if not plan.items_nullable:
                return None
            rows.append(None)
            continue
        values = []
        for read, serialize, nullable in plan.fields:
            value = read(item)
            if value is None:
                if not nullable:
                    return None
            else:
                try:
                    value = serialize(value)
                except Exception:  # graphql-core reports it as a located error: let it
                    return None
                if value is None or value is Undefined:
                    return None
            values.append(value)
        picked = plan.pick(values)
        rows.append({plan.keys[0]: picked} if plan.single else dict(zip(plan.keys, picked, strict=True)))
    return rows
