"""Shared fixtures: real PostgreSQL and Redis (embedded unless SF_DATABASE_URL / SF_REDIS_URL are set),
migrated once per session, and the service stack on loopback sockets."""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path

import grpc
import psycopg
import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.runtime.metrics import meter_provider
from services.runtime.telemetry import configure_tracing
from services.runtime.tokens import TokenSigner
from sf.embedded import EmbeddedPostgres, EmbeddedRedis
from sf.inprocess import InProcessStack
from sf.migrate import migrate
from sfcloud.v1 import tenancy_pb2_grpc
from tests.control_plane import Tenancy
from tests.mail import inbox, mailing_tenancy  # noqa: F401 (shared fixtures)

TESTS = Path(__file__).parent
# Tests whose pass figures are latencies, ratios of latencies or real-time bounds. `make test` runs them on
# their own after the rest has run on two workers at once, so another test's load is never charged to them.
TIMED = (
    "alarms/test_end_to_end.py",
    "analytics/test_tenant_limits.py",
    "codec/test_fuzz.py",
    "durability/",
    "e2e/test_overload.py",
    "e2e/test_readiness.py",
    "e2e/test_session_lifetime.py",
    "edge/test_forwarder.py",
    "edge/test_mqtt_source.py",
    "faults/",
    "gateway/test_cost_bounds.py",
    "gateway/test_idle_sockets.py",
    "gateway/test_live_revocation.py",
    "gateway/test_refusal_cost.py",
    "ingest/test_admission.py",
    "ingest/test_stream_limits.py",
    "isolation/test_noisy_neighbour.py",
    "security/test_brute_force.py",
    "security/test_keys_at_rest.py",
    "security/test_passwords.py",
    "security/test_sign_in_storm.py",
    "security/test_transport_abuse.py",
    "security/test_unique_keys.py",
    "sfclient/test_pacing.py",
    "soak/",
    "stack/test_sf_up.py",
    "support/test_notifications.py",
    "worker/test_sweep_cost.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(TESTS).as_posix().startswith(TIMED):
            item.add_marker(pytest.mark.timed)


class _SessionHeap:
    """Collects the session's garbage between tests, never during one (``_collected_between_tests``)."""

    GROWTH = 0.5  # the heap is collected whole once it has grown by this fraction since the last time
    CHECK_EVERY = 25  # tests: counting the frozen heap walks all of it (40 ms at a million objects)

    def __init__(self) -> None:
        self.after_full, self.tests = 0, 0  # objects frozen after the last full collection; tests begun

    def before_test(self) -> None:
        gc.collect()  # the unfrozen part only: what the tests since the last freeze left behind
        self.tests += 1
        whole = (
            self.tests % self.CHECK_EVERY == 1 and gc.get_freeze_count() > (1 + self.GROWTH) * self.after_full
        )
        if whole:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        if whole:
            self.after_full = gc.get_freeze_count()


_session_heap = _SessionHeap()


@pytest.fixture(autouse=True)
def _collected_between_tests():
    """The session's garbage is collected between tests, never during one: each test runs with the heap it
    inherits frozen (``gc.freeze``), so the collector passes only over what the test itself allocates.

    Why: by the late tests the session holds 1.7 million objects, and a full collection of them stalled this
    process 0.1-1.5 s (measured over a whole `make test`), and with it every call a test was timing: CI
    charged such a stall to a dead trace collector (RELIABILITY D7). Objects frozen alive that later die in a
    cycle are reclaimed when the heap is next collected whole."""
    _session_heap.before_test()
    yield


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span the test session records (one tracer provider per process)."""
    exporter = InMemorySpanExporter()
    configure_tracing("sfcloud-tests", SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="session")
def metric_reader() -> InMemoryMetricReader:
    """The test process's meter provider, as `sf serve` installs one, read in memory (it records the calls
    and requests of the in-process stack from the first test that asks for it)."""
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(meter_provider("sfcloud-tests", reader))
    return reader


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sf")


@pytest.fixture(scope="session")
def admin_url(data_dir: Path) -> str:
    if os.environ.get("SF_DATABASE_URL"):
        url = os.environ["SF_DATABASE_URL"]
        migrate(url)
        yield url
        return
    postgres = EmbeddedPostgres(data_dir / "postgres")
    url = postgres.start()
    migrate(url)
    yield url
    postgres.stop()


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> str:
    if os.environ.get("SF_REDIS_URL"):
        yield os.environ["SF_REDIS_URL"]
        return
    redis = EmbeddedRedis(data_dir / "redis")
    yield redis.start()
    redis.stop()


@pytest.fixture(scope="session")
def signing_key() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def signer(signing_key: str) -> TokenSigner:
    return TokenSigner(signing_key)


@pytest.fixture(scope="session")
async def stack(spans, admin_url: str, redis_url: str, signing_key: str) -> InProcessStack:
    running = await InProcessStack(admin_url, redis_url, signing_key, load_demo=True).start()
    yield running
    await running.stop()


@pytest.fixture
async def tenancy(stack, signer) -> Tenancy:
    """The tenancy service, callable as any principal the gateway would mint a token for."""
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield Tenancy(tenancy_pb2_grpc.TenancyServiceStub(channel), signer)


@pytest.fixture
def admin_conn(admin_url: str) -> psycopg.Connection:
    """A superuser connection, for assertions that must look past row-level security."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        yield conn
