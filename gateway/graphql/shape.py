"""Depth and aliases of a document, each fragment measured once.

Strawberry's own depth and alias rules walk a fragment again at every spread of it, so a chain of
fragments each spreading the next twice (`fragment F0 on Query { ...F1 ...F1 }` …) costs 2^n walks:
twenty such fragments, 300 tokens, took seconds of the gateway's one thread. These rules give the
same answers (the same messages) with each fragment's depth and alias count computed once per
document, so the work grows with the document's size, not with what it expands to. Unknown and
cyclic fragments count nothing here: graphql-core's own rules report them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


class _Measures:
    """Depth (fields nested, introspection not counted) and aliases of selection sets, fragments memoised."""

    def __init__(self, context: ValidationContext) -> None:
        self.fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._fragment: dict[str, tuple[int, int]] = {}
        self._visiting: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        """(depth, aliases) of a selection set."""
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            d, a = self._selection(selection)
            depth, aliases = max(depth, d), aliases + a
        return depth, aliases

    def _selection(self, node: Any) -> tuple[int, int]:
        if isinstance(node, FieldNode):
            d, a = self.of(node.selection_set)
            counted = node.selection_set is not None and not node.name.value.startswith("__")
            return (1 + d if counted else 0), a + (1 if node.alias else 0)
        if isinstance(node, InlineFragmentNode):
            return self.of(node.selection_set)
        if isinstance(node, FragmentSpreadNode):
            return self._spread(node.name.value)
        return 0, 0

    def _spread(self, name: str) -> tuple[int, int]:
        if name not in self._fragment:
            definition = self.fragments.get(name)
            if definition is None or name in self._visiting:
                return 0, 0
            self._visiting.add(name)
            self._fragment[name] = self.of(definition.selection_set)
            self._visiting.discard(name)
        return self._fragment[name]


def _operations(context: ValidationContext) -> list[OperationDefinitionNode]:
    return [d for d in context.document.definitions if isinstance(d, OperationDefinitionNode)]


@cache
def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """Refuses each operation nested deeper than ``max_depth`` fields."""

    class MaxDepth(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measures = _Measures(context)
            for operation in _operations(context):
                depth, _ = measures.of(operation.selection_set)
                if depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, operation))

    return MaxDepth


@cache
def alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    """Refuses a document whose operations, fragments expanded, hold more than ``max_aliases`` aliases."""

    class MaxAliases(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measures = _Measures(context)
            total = sum(measures.of(operation.selection_set)[1] for operation in _operations(context))
            if total > max_aliases:
                context.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return MaxAliases
