"""The exported GraphQL schema (gateway/schema.graphql) matches the code: `make schema` refreshes it."""

from __future__ import annotations

from pathlib import Path

from gateway.graphql.schema import build_schema

EXPORTED = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"


def test_exported_schema_is_current():
    assert EXPORTED.read_text() == build_schema().as_str() + "\n", (
        "run `make schema` and commit gateway/schema.graphql"
    )


def test_every_type_of_ours_is_described():
    schema = build_schema()._schema
    missing = []
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or name in {
            "String",
            "Int",
            "Float",
            "Boolean",
            "ID",
            "Query",
            "Mutation",
            "Subscription",
        }:
            continue
        if not gql_type.description:
            missing.append(name)
    assert missing == []
