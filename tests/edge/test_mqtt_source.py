"""The MQTT source against a real Mosquitto: payload forms, topic keys, rejects, and the delivery
guarantee (a message is acknowledged only after the sink wrote it, so none is lost when the agent
is cancelled, killed or its sink fails, or when the broker restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from edge.errors import EdgeConfigError
from edge.readings import Reading
from edge.sources.mqtt import MqttSource, MqttSourceConfig, parse_mqtt
from edge.sources.mqtt_payload import MAX_BYTES, PayloadError, decode
from tests.peers.mqtt_broker import MosquittoBroker, mosquitto

pytestmark = pytest.mark.slow

SERIES = "5b0f7c1e-3d4a-4c8e-9f1a-0a1b2c3d4e5f"
OTHER = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
TOPIC = f"sfcloud/{SERIES}"
CLIENT = "sf-edge-test"
NS = 10**9
MAY_1 = 1714564800  # 2024-05-01T12:00:00Z
ROOT = Path(__file__).resolve().parents[2]


class CollectingSink:
    def __init__(self) -> None:
        self.batches: list[list[Reading]] = []

    async def write(self, readings: Sequence[Reading]) -> None:
        self.batches.append(list(readings))

    @property
    def readings(self) -> list[Reading]:
        return [reading for batch in self.batches for reading in batch]

    @property
    def values(self) -> list[float]:
        return [reading.value for reading in self.readings]


class StuckSink:
    """A sink whose write never returns, like a disk that hangs or an agent killed mid-write."""

    def __init__(self) -> None:
        self.calls = 0

    async def write(self, readings: Sequence[Reading]) -> None:
        self.calls += 1
        await asyncio.Event().wait()


class FailingOnceSink(CollectingSink):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def write(self, readings: Sequence[Reading]) -> None:
        if not self.failures:
            self.failures += 1
            raise OSError("disk I/O error")
        await super().write(readings)


@pytest.fixture
def broker(tmp_path: Path):
    with mosquitto(tmp_path) as broker:
        yield broker


def source_for(broker: MosquittoBroker, **settings) -> MqttSource:
    settings = {
        "name": "line-broker",
        "host": broker.host,
        "port": broker.port,
        "client_id": CLIENT,
    } | settings
    return MqttSource(MqttSourceConfig(**settings))


@contextlib.asynccontextmanager
async def running(source: MqttSource, sink):
    task = asyncio.create_task(source.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish(broker: MosquittoBroker, *messages: tuple[str, str | bytes]) -> None:
    await asyncio.to_thread(broker.publish, messages)


async def eventually(check: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_each_payload_form_arrives_with_its_timestamps(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = CollectingSink()
    before = time.time_ns()
    await publish(
        broker,
        (TOPIC, "21.5"),
        (TOPIC, json.dumps({"ts": MAY_1 * NS + 123456789, "value": 1})),
        (TOPIC, '{"ts": 1714564800.25, "value": 2}'),
        (TOPIC, '{"ts": "2024-05-01T14:00:00.5+02:00", "value": true}'),
        (
            TOPIC,
            json.dumps(
                {"points": [[(MAY_1 + 1) * NS, 4], ["2024-05-01T12:00:02Z", 5], [MAY_1 + 3.0, False]]}
            ),
        ),
    )
    async with running(source_for(broker), sink):
        await eventually(lambda: len(sink.readings) == 7)
    first, *rest = sink.readings
    assert first.series_id == SERIES and first.value == 21.5 and before <= first.ts_ns <= time.time_ns()
    assert [(r.ts_ns, r.value) for r in rest] == [
        (MAY_1 * NS + 123456789, 1.0),
        (MAY_1 * NS + 250_000_000, 2.0),
        (MAY_1 * NS + 500_000_000, 1.0),
        ((MAY_1 + 1) * NS, 4.0),
        ((MAY_1 + 2) * NS, 5.0),
        ((MAY_1 + 3) * NS, 0.0),
    ]
    assert len(sink.batches) == 1  # one write for messages that were waiting together


async def test_named_keys_map_through_series(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = CollectingSink()
    source = source_for(broker, series={"press-1/temperature": SERIES})
    await publish(broker, ("sfcloud/press-1/temperature", "1"), (f"sfcloud/{OTHER.upper()}", "2"))
    async with running(source, sink):
        await eventually(lambda: len(sink.readings) == 2)
    assert [(r.series_id, r.value) for r in sink.readings] == [(SERIES, 1.0), (OTHER, 2.0)]


async def test_a_custom_prefix_reads_only_its_own_topics(broker):
    sink = CollectingSink()
    source = source_for(broker, prefix="plant1/line2")
    broker.open_session(CLIENT, "plant1/line2/#")
    await publish(broker, (TOPIC, "1"), (f"plant1/line2/{SERIES}", "2"))
    async with running(source, sink):
        await eventually(lambda: sink.readings)
        await asyncio.sleep(0.2)
    assert sink.values == [2.0] and source.stats.messages == 1


async def test_rejected_payloads_and_unknown_topics_are_counted_acknowledged_and_do_not_block(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = CollectingSink()
    source = source_for(broker)
    await publish(
        broker,
        (TOPIC, "NaN"),
        (TOPIC, '{"value": 1}'),
        (TOPIC, b"x" * (MAX_BYTES + 1)),
        ("sfcloud/press-1/temperature", "1"),
        (f"sfcloud/{SERIES}/extra", "1"),
        ("sfcloud", "1"),
        (TOPIC, "42"),
    )
    async with running(source, sink):
        await eventually(lambda: sink.values == [42.0])
    assert (source.stats.messages, source.stats.readings) == (7, 1)
    assert (source.stats.rejected, source.stats.unknown_topic) == (3, 3)

    again = CollectingSink()  # all seven were acknowledged: a new run sees only what comes next
    await publish(broker, (TOPIC, "43"))
    async with running(source_for(broker), again):
        await eventually(lambda: again.values)
        await asyncio.sleep(0.2)
    assert again.values == [43.0]


async def test_a_message_is_acknowledged_only_after_the_sink_wrote_it(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    stuck = StuckSink()
    await publish(broker, (TOPIC, "1.5"), (TOPIC, "2.5"))
    async with running(source_for(broker), stuck):
        await eventually(lambda: stuck.calls)
    # cancelled inside write, as a kill -9 would stop it: the broker still has both messages
    sink = CollectingSink()
    async with running(source_for(broker), sink):
        await eventually(lambda: len(sink.readings) == 2)
    assert sink.values == [1.5, 2.5]

    after = CollectingSink()  # written and acknowledged now: never delivered again
    await publish(broker, (TOPIC, "3.5"))
    async with running(source_for(broker), after):
        await eventually(lambda: after.values)
        await asyncio.sleep(0.2)
    assert after.values == [3.5]


async def test_a_failed_write_is_retried_after_a_reconnect(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = FailingOnceSink()
    source = source_for(broker)
    await publish(broker, (TOPIC, "7"))
    async with running(source, sink):
        await eventually(lambda: sink.values)
    assert sink.values == [7.0] and sink.failures == 1 and source.stats.reconnects == 1


async def test_the_source_keeps_its_own_session_while_it_is_stopped(broker):
    """No session made for it beforehand: the source's subscription outlives the source."""
    sink = CollectingSink()
    async with running(source_for(broker), sink):
        for _ in range(50):  # like a device: a value now and then until the subscription is in place
            await publish(broker, (TOPIC, "0"))
            with contextlib.suppress(AssertionError):
                await eventually(lambda: sink.values, within=0.1)
                break
    await publish(broker, (TOPIC, "1"), (TOPIC, "2"))
    later = CollectingSink()
    async with running(source_for(broker), later):
        await eventually(lambda: len(later.values) == 2)
    assert later.values == [1.0, 2.0]


async def test_the_source_reconnects_when_the_broker_restarts(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = CollectingSink()
    source = source_for(broker)
    async with running(source, sink):
        await publish(broker, (TOPIC, "1"))
        await eventually(lambda: sink.values == [1.0])
        await asyncio.to_thread(broker.restart)
        await publish(broker, (TOPIC, "2"))  # kept in the session, which the broker saved
        await eventually(lambda: sink.values == [1.0, 2.0])
    assert source.stats.reconnects >= 1


async def test_large_backlogs_are_written_in_batches_in_order(broker):
    broker.open_session(CLIENT, "sfcloud/#")
    sink = CollectingSink()
    await publish(broker, *[(TOPIC, str(i)) for i in range(3000)])
    async with running(source_for(broker), sink):
        await eventually(lambda: len(sink.readings) == 3000)
    assert sink.values == [float(i) for i in range(3000)]
    # full batches: the broker's send window is not a handful of messages that each wait 100 ms
    assert max(map(len, sink.batches)) == 1000 and len(sink.batches) <= 12


async def test_a_broker_with_passwords(tmp_path):
    with mosquitto(tmp_path, users={"edge": "s3cret"}) as broker:
        broker.open_session(CLIENT, "sfcloud/#")
        await publish(broker, (TOPIC, "5"))
        wrong, sink = source_for(broker, username="edge", password="wrong"), CollectingSink()
        async with running(wrong, sink):
            await eventually(lambda: wrong.stats.reconnects >= 1)
        assert sink.values == []
        async with running(source_for(broker, username="edge", password="s3cret"), sink):
            await eventually(lambda: sink.values == [5.0])


CHILD = """
import asyncio, sqlite3, sys
from edge.sources.mqtt import MqttSource, MqttSourceConfig

class SqliteSink:
    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS r (series TEXT, ts INTEGER, value REAL)")

    async def write(self, readings):
        self.db.executemany("INSERT INTO r VALUES (?, ?, ?)", [(r.series_id, r.ts_ns, r.value) for r in readings])
        self.db.commit()

host, port, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
config = MqttSourceConfig(name="crash", host=host, port=port, client_id="sf-edge-crash")
asyncio.run(MqttSource(config).run(SqliteSink(db)))
"""


async def test_no_reading_is_lost_when_the_agent_is_killed(broker, tmp_path):
    """RELIABILITY D4: kill -9 at arbitrary moments while a device publishes: after a last restart every reading is
    in the agent's database (a reading written just before a kill may be there twice)."""
    broker.open_session("sf-edge-crash", "sfcloud/#")
    db, count = tmp_path / "buffer.db", 4000
    command = [sys.executable, "-c", CHILD, broker.host, str(broker.port), str(db)]
    device = asyncio.create_task(
        publish_slowly(
            broker, [(TOPIC, json.dumps({"ts": MAY_1 * NS + i, "value": i})) for i in range(count)]
        )
    )
    written_at_kills = []
    for pause in (0.5, 0.6, 0.7):
        agent = await asyncio.create_subprocess_exec(*command, cwd=ROOT)
        await asyncio.sleep(pause)
        agent.send_signal(signal.SIGKILL)
        await agent.wait()
        written_at_kills.append(distinct_rows(db))
    assert any(0 < written < count for written in written_at_kills), written_at_kills  # killed mid-stream
    await device
    agent = await asyncio.create_subprocess_exec(*command, cwd=ROOT)
    try:
        await eventually(lambda: distinct_rows(db) == count, within=10)
    finally:
        agent.kill()
        await agent.wait()
    with sqlite3.connect(db) as conn:
        ts = sorted(row[0] for row in conn.execute("SELECT DISTINCT ts FROM r"))
    assert ts == [MAY_1 * NS + i for i in range(count)]


async def publish_slowly(broker: MosquittoBroker, messages: list[tuple[str, str]]) -> None:
    for start in range(0, len(messages), 200):
        await publish(broker, *messages[start : start + 200])
        await asyncio.sleep(0.05)


def distinct_rows(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(DISTINCT ts) FROM r").fetchone()[0]
    except sqlite3.OperationalError:  # the first agent has not made its table yet
        return 0


VALID = {"kind": "mqtt", "name": "line-broker", "host": "127.0.0.1", "client_id": "sf-edge-plant1"}
DROP = object()


def test_a_valid_section_with_defaults():
    config = parse_mqtt(VALID | {"series": {"press-1/temperature": SERIES.upper()}}, "sources[0]")
    assert (config.port, config.prefix, config.username, config.password) == (1883, "sfcloud", None, None)
    assert dict(config.series) == {"press-1/temperature": SERIES}
    with_password = parse_mqtt(VALID | {"username": "edge", "password": "s3cret"}, "sources[0]")
    assert "s3cret" not in repr(with_password)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"name": DROP}, "name"),
        ({"host": ""}, "host"),
        ({"client_id": DROP}, "client_id"),
        ({"client_id": 7}, "client_id"),
        ({"port": "1883"}, "port"),
        ({"port": 0}, "port"),
        ({"port": True}, "port"),
        ({"password": "s3cret"}, "username"),
        ({"username": "edge", "password": 123456}, "password"),
        ({"prefix": "sfcloud/#"}, "prefix"),
        ({"prefix": "/sfcloud"}, "prefix"),
        ({"prefix": "$SYS"}, "prefix"),
        ({"series": ["press-1"]}, "series"),
        ({"series": {"press-1": "not-a-uuid"}}, "series.press-1"),
        ({"series": {"press-1": SERIES.replace("-", "")}}, "series.press-1"),
        ({"series": {"press/+": SERIES}}, "series.press/+"),
        ({"clientid": "sf-edge-plant1"}, "clientid"),
    ],
)
def test_config_errors_name_the_key(change, key):
    section = {k: v for k, v in (VALID | change).items() if v is not DROP}
    with pytest.raises(EdgeConfigError) as error:
        parse_mqtt(section, "sources[1]")
    assert error.value.where == f"sources[1].{key}"
    assert "123456" not in str(error.value)  # a password never appears in a message


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"21.5", [(1, 21.5)]),
        (b"false", [(1, 0.0)]),
        (b'{"ts": 1714564800000000001, "value": -3}', [(MAY_1 * NS + 1, -3.0)]),
        (b'{"ts": 1714564800.123456789, "value": 1e3}', [(MAY_1 * NS + 123456789, 1000.0)]),
        (b'{"ts": 1.7145648e9, "value": 0}', [(MAY_1 * NS, 0.0)]),
        (b'{"ts": "2024-05-01t12:00:00.000000001z", "value": 1}', [(MAY_1 * NS + 1, 1.0)]),
        (
            b'{"points": [[1714564800.0, 1], ["2024-05-01T11:00:00-01:00", 2]]}',
            [(MAY_1 * NS, 1.0), (MAY_1 * NS, 2.0)],
        ),
    ],
)
def test_accepted_payloads(payload, expected):
    readings = decode(payload, SERIES, received_ns=1)
    assert [(r.ts_ns, r.value) for r in readings] == expected


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "not UTF-8 JSON"),
        (b"\xff", "not UTF-8 JSON"),
        (b"NaN", "NaN is not JSON"),
        (b'{"ts": 1714564800.0, "value": -Infinity}', "-Infinity is not JSON"),
        (b"1e400", "does not fit a double"),
        (b"9" * 400, "does not fit a double"),
        (b'"21.5"', "not a string"),
        (b"null", "not null"),
        (b"[1, 2]", "not an array"),
        (b'{"value": 1}', '"ts" and "value"'),
        (b'{"ts": 1714564800.0, "value": 1, "unit": "C"}', '"ts" and "value"'),
        (b'{"ts": 1714564800.0, "value": 1, "value": 2}', "a key twice"),
        (b'{"ts": 1714564800, "value": 1}', "integer ts is in nanoseconds"),
        (b'{"ts": 1e30, "value": 1}', "not between 2000 and 2262"),
        (b'{"ts": true, "value": 1}', "not a boolean"),
        (b'{"ts": "2024-05-01T12:00:00", "value": 1}', "with Z or an offset"),
        (b'{"ts": "2024-02-30T12:00:00Z", "value": 1}', "not a valid time"),
        (b'{"points": []}', "non-empty array"),
        (b'{"points": [[1714564800.0, 1, 2]]}', "points[0] must be a [ts, value] pair"),
        (b'{"points": [[1714564800.0, 1], [1714564800.0, "x"]]}', "points[1]: a value must be"),
        (b'{"points": [' + b"[1e9,1]," * 100_000 + b"[1e9,1]]}", "100001 points"),
        (b"[" * 100_000, "not UTF-8 JSON"),
        (b"1" + b" " * MAX_BYTES, "byte limit"),
    ],
)
def test_rejected_payloads(payload, why):
    with pytest.raises(PayloadError) as error:
        decode(payload, SERIES, received_ns=1)
    assert why in str(error.value)
