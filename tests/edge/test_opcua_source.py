"""The OPC UA source against a real asyncua server on loopback."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from asyncua import ua

from edge.errors import EdgeConfigError
from edge.readings import Reading
from edge.sources.opcua import OpcUaSource, parse_opcua
from tests.peers.opcua_server import OpcUaPeer, opcua_server

pytestmark = pytest.mark.timeout(30)

WAIT_S = 10.0

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SERIES = {name: str(uuid.uuid4()) for name in ("temperature", "count", "running", "label", "missing")}


class ListSink:
    """Keeps what it is given, and how many writes it took."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.writes = 0
        self._written = asyncio.Condition()

    async def write(self, readings: Sequence[Reading]) -> None:
        async with self._written:
            self.readings.extend(readings)
            self.writes += 1
            self._written.notify_all()

    def of(self, name: str) -> list[Reading]:
        return [r for r in self.readings if r.series_id == SERIES[name]]

    async def wait_until(self, done: Callable[[], bool]) -> None:
        """Until ``done()`` holds after a write; fails after WAIT_S."""
        async with asyncio.timeout(WAIT_S), self._written:
            await self._written.wait_for(done)


def ns(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def section(peer: OpcUaPeer, *names: str, **options: object) -> dict:
    nodes = [
        {"node": peer.node_ids.get(name, "ns=2;s=Press1.missing"), "series": SERIES[name]} for name in names
    ]
    base = {"kind": "opcua", "name": "press-line", "endpoint": peer.endpoint, "interval_ms": 100}
    return base | {"nodes": nodes} | options


@pytest.fixture(scope="module")
async def shared_peer() -> AsyncIterator[OpcUaPeer]:
    async with opcua_server() as peer:  # one for the module: each start takes about a second
        yield peer


@pytest.fixture
async def peer(shared_peer: OpcUaPeer) -> OpcUaPeer:
    await shared_peer.reset()
    return shared_peer


@asynccontextmanager
async def running(source: OpcUaSource, sink: ListSink) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run(sink))
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_subscription_delivers_each_written_sample_once_in_order(peer: OpcUaPeer) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature", "running"), "sources[0]")), ListSink()
    async with running(source, sink):
        await sink.wait_until(lambda: len(sink.of("temperature")) == 1)  # the value it starts with
        for i in range(50):
            await peer.write("temperature", 21.0 + i, T0 + timedelta(milliseconds=10 * i))
        await peer.write("temperature", 70.5, T0 + timedelta(seconds=1))  # same value, later: a sample too
        await peer.write("temperature", 70.5, T0 + timedelta(seconds=2))
        await peer.write("running", True, T0)
        await sink.wait_until(lambda: len(sink.of("temperature")) == 53 and len(sink.of("running")) == 2)
        await asyncio.sleep(0.3)  # nothing more comes

    expected = [(ns(T0 + timedelta(milliseconds=10 * i)), 21.0 + i) for i in range(50)]
    expected += [(ns(T0 + timedelta(seconds=1)), 70.5), (ns(T0 + timedelta(seconds=2)), 70.5)]
    assert [(r.ts_ns, r.value) for r in sink.of("temperature")[1:]] == expected
    assert sink.of("running")[1] == Reading(SERIES["running"], ns(T0), 1.0)
    assert sink.writes < 10  # batched, not one write per notification
    assert source.stats.readings == len(sink.readings) == 55
    assert source.stats.reconnects == 0


async def test_server_timestamp_stands_in_for_a_missing_source_timestamp(peer: OpcUaPeer) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "count"), "sources[0]")), ListSink()
    async with running(source, sink):
        await sink.wait_until(lambda: len(sink.of("count")) == 1)
        before = datetime.now(UTC)
        await peer.write("count", 7, None)
        await sink.wait_until(lambda: len(sink.of("count")) == 2)
    reading = sink.of("count")[1]
    assert reading.value == 7.0
    assert ns(before) <= reading.ts_ns <= ns(datetime.now(UTC))


async def test_bad_quality_and_text_values_are_skipped(
    peer: OpcUaPeer, caplog: pytest.LogCaptureFixture
) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature", "label"), "sources[0]")), ListSink()
    with caplog.at_level(logging.WARNING, logger="edge.sources.opcua"):
        async with running(source, sink):
            await sink.wait_until(lambda: len(sink.of("temperature")) == 1)
            await peer.write("temperature", 0.0, T0, status=ua.StatusCodes.BadSensorFailure)
            await peer.write("label", "running", T0)
            await peer.write("temperature", 30.0, T0 + timedelta(seconds=1))
            await sink.wait_until(lambda: len(sink.of("temperature")) == 2)

    assert [r.value for r in sink.of("temperature")] == [20.0, 30.0]
    assert sink.of("label") == []
    assert source.stats.skipped_bad_status == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "edge.sources.opcua"]
    assert sum("Press1.label holds a String, not a number" in m for m in messages) == 1
    assert any("Press1.temperature reports BadSensorFailure" in m for m in messages)
    assert all("press-line" in m and peer.endpoint in m for m in messages)


async def test_polling_reads_every_period_without_repeating_unchanged_samples(peer: OpcUaPeer) -> None:
    config = parse_opcua(section(peer, "temperature", "count", mode="polling", interval_ms=50), "sources[0]")
    source, sink = OpcUaSource(config), ListSink()
    async with running(source, sink):
        await sink.wait_until(lambda: len(sink.of("temperature")) == 1)
        await peer.write("temperature", 25.0, T0)
        await sink.wait_until(lambda: len(sink.of("temperature")) == 2)
        await asyncio.sleep(0.5)  # ten polls of unchanged values
        await peer.write("temperature", 26.0, T0 + timedelta(seconds=1))
        await sink.wait_until(lambda: len(sink.of("temperature")) == 3)
        await asyncio.sleep(0.2)

    assert [(r.ts_ns, r.value) for r in sink.of("temperature")[1:]] == [
        (ns(T0), 25.0),
        (ns(T0 + timedelta(seconds=1)), 26.0),
    ]
    assert len(sink.of("count")) == 1


async def test_reconnects_after_a_server_restart_and_goes_on(peer: OpcUaPeer) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature"), "sources[0]")), ListSink()
    written = [(T0 + timedelta(seconds=i), 30.0 + i) for i in range(6)]
    async with running(source, sink):
        await sink.wait_until(lambda: len(sink.of("temperature")) == 1)
        for moment, value in written[:3]:
            await peer.write("temperature", value, moment)
        await sink.wait_until(lambda: len(sink.of("temperature")) == 4)

        await peer.restart()
        moment, value = written[3]
        await peer.write("temperature", value, moment)  # may be in place before we subscribe again
        await sink.wait_until(lambda: written[3][1] in [r.value for r in sink.of("temperature")])
        for moment, value in written[4:]:
            await peer.write("temperature", value, moment)
        await sink.wait_until(lambda: sink.of("temperature")[-1].value == written[-1][1])

    # 20.0 is where each server starts: read on each (re)connect, with the server's start time
    samples = [(r.ts_ns, r.value) for r in sink.of("temperature") if r.value != 20.0]
    assert samples == [(ns(moment), value) for moment, value in written]
    assert source.stats.reconnects == 1


async def test_gives_up_on_a_server_that_stops_answering_and_reconnects(peer: OpcUaPeer) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature"), "sources[0]")), ListSink()
    async with running(source, sink):
        await sink.wait_until(lambda: len(sink.of("temperature")) == 1)
        peer.freeze()  # the connection stays open, but nothing answers on it
        # the first may still answer the publish request the server had read; the second cannot
        for value, moment in ((45.0, T0), (46.0, T0 + timedelta(seconds=1))):
            await peer.write("temperature", value, moment)
            await sink.wait_until(lambda v=value: sink.of("temperature")[-1].value == v)
    assert source.stats.reconnects == 1


async def test_a_write_cut_short_by_cancellation_is_made_again(peer: OpcUaPeer) -> None:
    class StuckOnceSink(ListSink):
        def __init__(self) -> None:
            super().__init__()
            self.stuck = asyncio.Event()

        async def write(self, readings: Sequence[Reading]) -> None:
            if not self.stuck.is_set():
                self.stuck.set()
                await asyncio.Event().wait()  # the first write never finishes
            await super().write(readings)

    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature"), "sources[0]")), StuckOnceSink()
    async with running(source, sink):
        async with asyncio.timeout(WAIT_S):
            await sink.stuck.wait()
    assert [r.value for r in sink.of("temperature")] == [20.0]  # written on the way out


async def test_waits_for_a_server_that_is_not_there_yet(peer: OpcUaPeer) -> None:
    await peer.stop()
    source, sink = OpcUaSource(parse_opcua(section(peer, "temperature"), "sources[0]")), ListSink()
    async with running(source, sink):
        await asyncio.sleep(0.3)
        await peer.start()
        await peer.write("temperature", 40.0, T0)
        await sink.wait_until(lambda: [r.value for r in sink.of("temperature")] == [40.0])
    assert source.stats.reconnects == 0  # never connected before: this was the first connection


async def test_an_unknown_node_is_skipped_and_the_others_go_on(
    peer: OpcUaPeer, caplog: pytest.LogCaptureFixture
) -> None:
    source, sink = OpcUaSource(parse_opcua(section(peer, "missing", "temperature"), "sources[0]")), ListSink()
    with caplog.at_level(logging.ERROR, logger="edge.sources.opcua"):
        async with running(source, sink):
            await peer.write("temperature", 50.0, T0)
            await sink.wait_until(lambda: [r.value for r in sink.of("temperature")] == [50.0])
    assert sink.of("missing") == []
    [record] = [r for r in caplog.records if r.name == "edge.sources.opcua"]
    assert "Press1.missing" in record.getMessage() and "BadNodeIdUnknown" in record.getMessage()
    assert SERIES["missing"] in record.getMessage()


async def test_signs_in_with_username_and_password(caplog: pytest.LogCaptureFixture) -> None:
    async with opcua_server(users={"edge": "s3cret"}) as peer:
        wrong = OpcUaSource(parse_opcua(section(peer, "temperature", username="edge", password="nope"), "s"))
        right = OpcUaSource(
            parse_opcua(section(peer, "temperature", username="edge", password="s3cret"), "s")
        )
        wrong_sink, right_sink = ListSink(), ListSink()
        async with running(wrong, wrong_sink), running(right, right_sink):
            await right_sink.wait_until(lambda: len(right_sink.of("temperature")) == 1)
            await asyncio.sleep(0.5)
    assert wrong_sink.readings == []
    assert any(
        "BadUserAccessDenied" in r.getMessage() for r in caplog.records if r.name == "edge.sources.opcua"
    )
    assert all("nope" not in r.getMessage() and "s3cret" not in r.getMessage() for r in caplog.records)


GOOD = {
    "kind": "opcua",
    "name": "press-line",
    "endpoint": "opc.tcp://10.0.0.5:4840",
    "nodes": [{"node": "ns=2;s=Press1.Temperature", "series": "5B0F7C1E-0000-4000-8000-000000000001"}],
}


def test_a_good_section_is_read_with_its_defaults() -> None:
    config = parse_opcua(GOOD | {"username": "edge", "password": "s3cret"}, "sources[0]")
    assert (config.mode, config.interval_ms, config.username, config.password) == (
        "subscription",
        1000,
        "edge",
        "s3cret",
    )
    assert config.nodes[0].series_id == "5b0f7c1e-0000-4000-8000-000000000001"
    assert "s3cret" not in repr(config)


def _node(**entry: object) -> dict:
    return GOOD | {"nodes": [GOOD["nodes"][0] | entry]}


@pytest.mark.parametrize(
    ("changed", "where", "problem"),
    [
        ({"name": None}, "sources[0].name", "is required"),
        ({"name": 5}, "sources[0].name", "a non-empty string is needed, not int"),
        ({"endpoint": "http://10.0.0.5:4840"}, "sources[0].endpoint", "not an opc.tcp://host:port URL"),
        ({"endpoint": "opc.tcp://u:p@host:4840"}, "sources[0].endpoint", "must not hold credentials"),
        ({"mode": "push"}, "sources[0].mode", "'push' is not one of subscription, polling"),
        ({"interval_ms": 0}, "sources[0].interval_ms", "above 0, not 0"),
        ({"interval_ms": "1s"}, "sources[0].interval_ms", "not '1s'"),
        ({"interval_ms": True}, "sources[0].interval_ms", "not True"),
        ({"intervall_ms": 500}, "sources[0].intervall_ms", "unknown key"),
        ({"username": "edge"}, "sources[0].password", "is required"),
        ({"password": 12345}, "sources[0].username", "is required"),
        ({"nodes": []}, "sources[0].nodes", "a non-empty list"),
        ({"nodes": "ns=2;i=5"}, "sources[0].nodes", "a non-empty list"),
        ({"nodes": ["ns=2;i=5"]}, "sources[0].nodes[0]", "must be a mapping"),
        (_node(node="Press1.Temperature"), "sources[0].nodes[0].node", "is not an OPC UA NodeId"),
        (_node(node="ns=x;i=5"), "sources[0].nodes[0].node", "is not an OPC UA NodeId"),
        (_node(node="nsu=urn:plc;s=T"), "sources[0].nodes[0].node", "nsu= and srv= are not supported"),
        (_node(node="ns=2;s="), "sources[0].nodes[0].node", "has an empty identifier"),
        (_node(series="abc"), "sources[0].nodes[0].series", "'abc' is not a UUID"),
        (_node(series=None), "sources[0].nodes[0].series", "is required"),
        (_node(unit="degC"), "sources[0].nodes[0].unit", "unknown key"),
        (
            {"nodes": GOOD["nodes"] * 2},
            "sources[0].nodes[1].node",
            "'ns=2;s=Press1.Temperature' is already used by nodes[0]",
        ),
        (
            {"nodes": [GOOD["nodes"][0], GOOD["nodes"][0] | {"node": "ns=2;i=7"}]},
            "sources[0].nodes[1].series",
            "is already used by nodes[0]",
        ),
    ],
)
def test_a_wrong_section_names_the_key(changed: dict, where: str, problem: str) -> None:
    with pytest.raises(EdgeConfigError) as error:
        parse_opcua({k: v for k, v in (GOOD | changed).items() if v is not None}, "sources[0]")
    assert error.value.where == where
    assert problem in str(error.value)


def test_a_wrong_password_type_does_not_print_the_value() -> None:
    with pytest.raises(EdgeConfigError) as error:
        parse_opcua(GOOD | {"username": "edge", "password": 314159}, "sources[0]")
    assert "314159" not in str(error.value)
