"""The caller's plan limits one operation before anything runs: tokens, depth, aliases, cost and the raw window.

The limits come with the context (`Context.limits`, from the caller's plan, `gateway/plans.py`).
Tokens are counted while parsing; depth, aliases (`gateway/graphql/shape.py`) and cost
(`gateway/graphql/cost.py`, which also holds raw reads to the plan's window) are validation rules,
so a refused document is a request error with `extensions.code` `BAD_USER_INPUT` and nothing of it
is executed. Introspection is not limited by depth or cost: it stays on for developers' tools.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gateway.graphql.cost import cost_rule
from gateway.graphql.shape import alias_rule, depth_rule
from gateway.graphql.validations import ValidationMemory
from gateway.plans import DEFAULT_LIMITS, ApiLimits


class OperationLimits(SchemaExtension):
    def _limits(self) -> ApiLimits:
        return getattr(self.execution_context.context, "limits", None) or DEFAULT_LIMITS

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self._limits().graphql_max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        """Adds the plan's rules, or answers from the schema's memory of the same request
        (`validations.py`): setting the errors beforehand makes Strawberry skip its validation."""
        limits, context = self._limits(), self.execution_context
        memory: ValidationMemory | None = getattr(context.schema, "validations", None)
        rules = (
            limits.graphql_max_depth,
            limits.graphql_max_aliases,
            limits.graphql_max_cost,
            limits.raw_window_days,
        )
        key = memory.key(context.query, rules, context.variables) if memory else None
        remembered = memory.recall(key) if memory else None
        if remembered is not None:
            context.pre_execution_errors = remembered
            yield
            return
        context.validation_rules = (
            *context.validation_rules,
            depth_rule(limits.graphql_max_depth),
            alias_rule(limits.graphql_max_aliases),
            cost_rule(context.variables, limits.graphql_max_cost, limits.raw_window_days),
        )
        yield
        if memory:
            memory.remember(key, context.pre_execution_errors)
