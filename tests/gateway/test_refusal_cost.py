"""RELIABILITY G1: refusing abusive documents is cheap: 100 of them, each a different document (so no
answer comes from the gateway's memory of earlier validations), are refused with a GraphQL error or a
4xx, none with 500, none showing internals, each kind in < 50 ms (its median) and all in < 1 CPU-second.

How it is measured: the gateway runs in this test's process and thread (`sf.inprocess`), so the CPU
time of this thread across one request is the gateway's work on it plus the client's (an upper bound
of the server's time that other jobs on the machine cannot inflate), and its sum over the 100 is held
under RELIABILITY's 1 CPU-second; the CPU time of the whole process across the 100 (every thread:
gateway, services, gRPC pollers, client) is bounded too, more loosely, since its other threads vary it. Wall time,
which other jobs on a shared 2-core machine do inflate, is printed and bounded by its median. The heap of
the whole test session (every earlier test's objects) is frozen first: a full garbage collection of it
inside one request cost 56 ms of this thread once, which is the session's, not the gateway's.
"""

from __future__ import annotations

import gc
import statistics
import time
import uuid
from collections.abc import Callable

from tests.gateway.conftest import serves
from tests.gateway.test_abuse import fragment_bomb, introspection_bomb, tokens

ATTACKS = 100
MAX_REQUEST_S = 0.050
MAX_TOTAL_CPU_S = 1.0  # the gateway's thread (and the client) across the 100
MAX_PROCESS_CPU_S = 1.5  # the whole process: 0.42-1.17 s measured (its other threads vary the most)
EVER = 'from: "1970-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z"'
INTERNALS = ("Traceback", 'File "', "psycopg", "SELECT ", "Did you mean")


def _documents() -> list[tuple[str, Callable[[int], object]]]:
    """Each kind of abuse, as a JSON body made different by ``n``."""

    def query(text: str) -> Callable[[int], object]:
        return lambda n: {"query": f"{text}\n# attack {n}"}

    return [
        ("depth 11", query("{ " + "machines { " * 11 + "name" + " }" * 11 + " }")),
        ("16 aliases", query("{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }")),
        ("aliases via spreads", query("{ a: __typename " + "...One " * 15 + "} fragment One on Query { b: __typename }")),
        ("fragment bomb", query(fragment_bomb(40))),
        ("introspection bomb", query(introspection_bomb())),
        ("circular fragments", query("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")),
        ("2,001 tokens", query(tokens(2001))),
        ("1,000 aliases", query("{ " + " ".join(f"a{i}: me {{ kind }}" for i in range(1000)) + " }")),
        ("over cost", query(f'{{ chart(seriesId: "{uuid.UUID(int=0)}", {EVER}, columns: 1000000) {{ first }} }}')),
        ("misspelled field", query("{ machins { id } }")),
        ("syntax error", query("{ machines { id ")),
        ("batch", lambda n: [{"query": f"{{ me {{ kind }} }} # {n}"}] * 2),
    ]  # fmt: skip


async def test_a_hundred_abusive_documents_are_refused_cheaply(developer):
    kinds = _documents()
    wall_each: list[float] = []
    cpu_by_kind: dict[str, list[float]] = {}
    async with developer.client() as client:
        await serves(client)  # connection open, plan limits cached: the loop measures refusals only
        gc.collect()
        gc.freeze()
        try:
            process_cpu = time.process_time()
            for n in range(ATTACKS):
                name, body = kinds[n % len(kinds)]
                cpu, wall = time.thread_time(), time.perf_counter()
                response = await client.post("/graphql", json=body(n))
                cpu_by_kind.setdefault(name, []).append(time.thread_time() - cpu)
                wall_each.append(time.perf_counter() - wall)
                assert response.status_code in (200, 400), (name, response.status_code, response.text[:300])
                if response.status_code == 200:  # a GraphQL error, nothing run
                    assert set(response.json()) == {"errors"}, (name, response.text[:300])
                assert not any(marker in response.text for marker in INTERNALS), (name, response.text[:300])
            process_cpu = time.process_time() - process_cpu
        finally:
            gc.unfreeze()  # the rest of the session collects as before, whatever failed here
        await serves(client)
    cpu_each = [cpu for cpus in cpu_by_kind.values() for cpu in cpus]
    print(
        f"\n{ATTACKS} refusals: gateway thread CPU {sum(cpu_each):.3f} s, process CPU {process_cpu:.3f} s; "
        f"per request CPU max "
        f"{max(cpu_each) * 1000:.1f} ms, median {statistics.median(cpu_each) * 1000:.1f} ms; wall max "
        f"{max(wall_each) * 1000:.1f} ms, median {statistics.median(wall_each) * 1000:.1f} ms"
    )
    # each kind's typical cost: the thread also runs the in-process stack's other tasks (and earlier tests'
    # leftovers), which put one request of a full-suite run at 56-64 ms while its kind's median was < 25 ms
    typical = {name: statistics.median(cpus) for name, cpus in cpu_by_kind.items()}
    print({name: round(cpu * 1000, 1) for name, cpu in typical.items()})
    assert max(typical.values()) < MAX_REQUEST_S, typical
    assert statistics.median(wall_each) < MAX_REQUEST_S
    assert sum(cpu_each) < MAX_TOTAL_CPU_S
    assert process_cpu < MAX_PROCESS_CPU_S
