"""RELIABILITY A5 (at rest): an API key's secret is nowhere in the database or the logs after the key was made,
used, mistyped and revoked. Only its visible prefix and a hash are stored.

Every text, JSON and bytea column of every table in every schema of ours is searched on the server, and every
log record the in-process stack wrote meanwhile (at DEBUG, message, arguments and extra fields).
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import psycopg
from psycopg import sql

from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "USER-DEFINED")
QUERY = "{ me { kind tenantId } }"


def _columns(conn: psycopg.Connection) -> list[tuple[str, str, str, str]]:
    return conn.execute(
        """SELECT c.table_schema, c.table_name, c.column_name, c.data_type
             FROM information_schema.columns c
             JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE t.table_type = 'BASE TABLE'
              AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
              AND c.table_schema NOT LIKE 'pg_toast%%'
              AND c.data_type = ANY(%s)""",
        [[*TEXT_TYPES, "bytea"]],
    ).fetchall()


def _found_in_database(conn: psycopg.Connection, secret: str) -> list[str]:
    """Every schema.table.column holding the secret as text or as bytes."""
    found = []
    for schema, table, column, data_type in _columns(conn):
        target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        if data_type == "bytea":
            test = sql.SQL("position(convert_to(%s, 'UTF8') in {}) > 0").format(sql.Identifier(column))
        else:
            test = sql.SQL("strpos({}::text, %s) > 0").format(sql.Identifier(column))
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(target, test)
        if conn.execute(query, [secret]).fetchone()[0]:
            found.append(f"{schema}.{table}.{column}")
    return found


async def _graphql(base_url: str, key: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {key}"}
        )
        return response.status_code


async def test_an_api_keys_secret_is_in_no_table_and_no_log(stack, tenancy, admin_conn, caplog):
    caplog.set_level(logging.DEBUG)
    _, owner = await tenancy.tenant(OPERATOR)
    created = await tenancy.call(
        "CreateApiKey", pb.CreateApiKeyRequest(name="at-rest", scopes=["read"]), owner
    )
    key = created.key
    _, prefix, secret = key.split("_")
    assert await _graphql(stack.gateway_url, key) == 200
    assert await _graphql(stack.gateway_url, key[:-1] + ("A" if key[-1] != "A" else "B")) == 401
    await tenancy.call("RevokeApiKey", pb.RevokeApiKeyRequest(key_id=created.api_key.id), owner)
    deadline = time.monotonic() + 7  # the gateway remembers a key for up to 5 s
    while await _graphql(stack.gateway_url, key) == 200:
        assert time.monotonic() < deadline, "the revoked key still works"
        await asyncio.sleep(0.5)
    columns = _columns(admin_conn)
    assert any(c[:3] == ("tenancy", "api_keys", "prefix") for c in columns)
    assert "tenancy.api_keys.prefix" in _found_in_database(
        admin_conn, prefix
    )  # the search finds what is there
    assert _found_in_database(admin_conn, secret) == []
    logged = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records]
    assert any(r.name == "uvicorn.access" for r in caplog.records)  # the gateway's request log was captured
    assert [line for line in logged if secret in line] == []
    print(f"\nA5: {len(columns)} columns and {len(logged)} log records searched; the secret is in none")
