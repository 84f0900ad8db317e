"""RELIABILITY R2 (static half): every gRPC call the product makes has a deadline, so a slow or blackholed
peer cannot hold a caller, its connection and its database transaction for ever.

A call is recognised as one that carries credentials (`metadata=`) or one made on a stub (`stub.Method(...)`,
health checks included); calls through `CallerIdentity.call` get `DEFAULT_DEADLINE_S` there, which the last
test checks. Test code is not scanned.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from services.runtime.channels import CallerIdentity

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("services", "gateway", "sf", "edge", "sfclient")
RPC_NAME = re.compile(r"^[A-Z][A-Za-z]+$")
MODULE = re.compile(r"(_pb2|_pb2_grpc|\.aio)$")


def _rpc_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg for k in node.keywords}
        owner = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        on_stub = (
            RPC_NAME.match(getattr(node.func, "attr", ""))
            and re.search(r"stub|health", owner, re.IGNORECASE)
            and not MODULE.search(owner)  # health_pb2.HealthCheckRequest(), health_pb2_grpc.HealthStub(...)
        )
        if "metadata" in keywords or on_stub:
            yield node, "timeout" in keywords


def test_every_grpc_call_in_the_product_has_a_deadline():
    calls, missing = 0, []
    for folder in PRODUCT:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node, has_deadline in _rpc_calls(ast.parse(path.read_text())):
                calls += 1
                if not has_deadline:
                    missing.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert calls >= 20  # the scan sees the product's calls
    assert missing == []
    print(f"\nR2: {calls} gRPC calls in the product, every one with a deadline")


def test_calls_through_the_caller_identity_get_the_default_deadline():
    source = inspect.getsource(CallerIdentity.call)
    assert "timeout=DEFAULT_DEADLINE_S" in source
