"""The API's compatibility rule: nothing existing breaks unless it was deprecated first.

A change that graphql-core's `find_breaking_changes` reports (a field, argument, enum value or type
removed, a type changed, a required argument added, ...) is allowed only when the old schema had
already marked the field or enum value it concerns `@deprecated`; a type may go once every field
that returned it was deprecated. docs/API.md (Compatibility) states the rule; tests hold the
built schema to it against `gateway/schema.graphql` as committed here and on the main branch.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLSchema,
    find_breaking_changes,
    get_named_type,
    is_interface_type,
    is_object_type,
)

_COORDINATE = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_TYPE_REMOVED = re.compile(r"^([A-Za-z_]\w*) was removed\.$")


def _deprecated(old: GraphQLSchema, type_name: str, member: str) -> bool:
    owner = old.get_type(type_name)
    if isinstance(owner, GraphQLEnumType):
        value = owner.values.get(member)
        return value is not None and value.deprecation_reason is not None
    fields = getattr(owner, "fields", {})
    if isinstance(owner, GraphQLInputObjectType) or member in fields:
        field = fields.get(member)
        return field is not None and field.deprecation_reason is not None
    return False


def _only_behind_deprecated(old: GraphQLSchema, type_name: str) -> bool:
    """Every field of the old schema that returned the type was deprecated."""
    returning = [
        field
        for named in old.type_map.values()
        if is_object_type(named) or is_interface_type(named)
        for field in named.fields.values()
        if get_named_type(field.type).name == type_name
    ]
    return all(field.deprecation_reason is not None for field in returning)


def _allowed(old: GraphQLSchema, description: str) -> bool:
    if removed := _TYPE_REMOVED.match(description):
        return _only_behind_deprecated(old, removed.group(1))
    coordinate = _COORDINATE.search(description)
    return coordinate is not None and _deprecated(old, *coordinate.groups())


def breaking_changes(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    """What ``new`` breaks of ``old`` that ``old`` had not deprecated, one line each."""
    return [
        f"{change.type.name}: {change.description}"
        for change in find_breaking_changes(old, new)
        if not _allowed(old, change.description)
    ]
