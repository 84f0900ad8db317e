"""RELIABILITY A1: passwords are stored as argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) or above, a
hash made with weaker parameters is upgraded at the next sign-in, a verification costs at most 150 ms here,
and at most two run at once, so a burst of sign-ins cannot take every core."""

from __future__ import annotations

import asyncio
import re
import statistics
import threading
import time

from argon2 import PasswordHasher, Type

from services.runtime.tokens import service_principal
from services.tenancy import credentials
from sfcloud.v1 import tenancy_pb2 as pb
from tests.control_plane import OPERATOR

GATEWAY = service_principal("gateway")
PASSWORD = "a-long-password-for-a1"
PARAMETERS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def _parameters(admin_conn, email: str) -> tuple[int, int, int]:
    stored = admin_conn.execute(
        "SELECT password_hash FROM tenancy.users WHERE email = %s", [email]
    ).fetchone()[0]
    match = PARAMETERS.match(stored)
    assert match, stored[:20]
    return tuple(int(g) for g in match.groups())


async def test_hashes_are_argon2id_at_the_minimum_and_weaker_ones_are_upgraded(tenancy, admin_conn):
    _, owner = await tenancy.tenant(OPERATOR)
    email = f"a1-{time.monotonic_ns()}@example.com"
    request = pb.CreateUserRequest(email=email, password=PASSWORD, display_name="A1", role=pb.ROLE_VIEWER)
    await tenancy.provision(owner.tenant_id, request)
    memory, iterations, lanes = _parameters(admin_conn, email)
    assert memory >= 19456 and iterations >= 2 and lanes >= 1
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.I).hash(PASSWORD)
    admin_conn.execute("UPDATE tenancy.users SET password_hash = %s WHERE email = %s", [weak, email])
    await tenancy.call("Login", pb.LoginRequest(email=email, password=PASSWORD), GATEWAY)
    assert _parameters(admin_conn, email) == (memory, iterations, lanes)
    await tenancy.call(
        "Login", pb.LoginRequest(email=email, password=PASSWORD), GATEWAY
    )  # the new hash verifies


async def test_a_verification_is_quick_and_at_most_two_run_at_once(monkeypatch):
    checker = credentials.PasswordChecker()
    stored = await checker.hash(PASSWORD)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        assert await checker.verify(stored, PASSWORD)
        timings.append(time.perf_counter() - started)
    active, peak, lock = 0, 0, threading.Lock()
    verify = credentials._verify

    def counted(*args):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            return verify(*args)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(credentials, "_verify", counted)
    results = await asyncio.gather(*(checker.verify(stored, "wrong-password-123") for _ in range(20)))
    assert not any(results) and peak == 2
    assert statistics.median(timings) <= 0.150
    print(f"\nA1: verification median {statistics.median(timings) * 1000:.0f} ms; at most {peak} at once")
