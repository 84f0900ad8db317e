"""Runs every benchmark group and collects its figures under their stable names."""

from __future__ import annotations

from collections.abc import Callable

from sf.bench import (
    anomaly,
    codec,
    exports,
    graphql,
    live,
    queries,
    scoring,
    setup,
    telemetry,
    tenancy,
    webapp,
)
from sf.bench.figures import Figure

GROUPS: dict[str, Callable[[], dict[str, Figure]]] = {
    "codec": codec.run,
    "telemetry": telemetry.run,
    "queries": queries.run,
    "tenancy": tenancy.run,
    "live": live.run,
    "analytics": anomaly.run,
    "scoring": scoring.run,
    "graphql": graphql.run,
    "exports": exports.run,
    "setup": setup.run,
    "webapp": webapp.run,
}
PREFIXES = {
    "codec": ("codec.",),
    "telemetry": ("ingest.", "storage.", "query.raw"),
    "queries": ("query.year", "query.m4", "query.latest"),
    "tenancy": ("tenancy.",),
    "live": ("ingest.live",),
    "analytics": ("analytics.skab", "analytics.score"),
    "scoring": ("analytics.worker",),
    "graphql": ("graphql.",),
    "exports": ("programme.",),
    "setup": ("setup.",),
    "webapp": ("webapp.",),
}


def run(only: str = "") -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for name, group in GROUPS.items():
        if not only or any(p.startswith(only) or only.startswith(p) for p in PREFIXES[name]):
            figures.update({k: v for k, v in group().items() if k.startswith(only)})
    return figures
