"""The operator's flag rules applied to a tenant's month: which rules it breaks, and the numbers that show it.

Rules are data (tenants/utilisation_rules.yaml, checked against its schema when the catalog loads); this
module only evaluates them, so a new rule over an existing metric needs no code."""

from __future__ import annotations

from services.tenancy.programme_models import Flag, Review, Rule, Utilisation

# What the tenant's cell tells (through analytics): unknown when the cell does not answer.
TELEMETRY_METRICS = frozenset({"data_day_share", "reporting_device_share", "points"})


def raised(rules: tuple[Rule, ...], month: Utilisation, reviews: dict[str, Review]) -> tuple[Flag, ...]:
    """The flags ``rules`` raise for the month, each with its review if the operator made one."""
    flags = []
    for rule in rules:
        if _applies(rule, month) and (value := month.metric(rule.metric)) < rule.below:
            flags.append(Flag(rule, value, evidence(rule, month, value), reviews.get(rule.code)))
    return tuple(flags)


def _applies(rule: Rule, month: Utilisation) -> bool:
    if rule.subsidised_only and not month.tenant.subsidised:
        return False
    if month.telemetry_unavailable and rule.metric in TELEMETRY_METRICS:
        return False  # unknown is not idle
    return month.registered_devices >= rule.min_registered_devices


def evidence(rule: Rule, month: Utilisation, value: float) -> str:
    """The numbers behind a flag, for people."""
    if rule.metric == "data_day_share":
        return (
            f"data on {month.days_with_data} of {month.period.days} days ({value:.1%});"
            f" the rule wants at least {rule.below:.0%}"
        )
    if rule.metric == "reporting_device_share":
        return (
            f"{month.reporting_devices} of {month.registered_devices} registered devices stored data"
            f" ({value:.1%}); the rule wants at least {rule.below:.0%}"
        )
    return f"{rule.metric.replace('_', ' ')}: {value:g} in the month; the rule wants at least {rule.below:g}"
