"""The whole collector against the real Mosquitto and InfluxDB 1.6 of the fixtures."""

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable

import aiohttp
import aiomqtt
import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from balise import wire
from balise.model.catalog import Catalog, Target
from balise.model.events import Event, EventKind, Scope
from balise.model.messages import Heartbeat, Round, Status
from balise.mqtt import MqttSettings
from collector.detection import Detector
from collector.service import Collector
from collector.settings import (
    BatchSettings,
    CollectorSettings,
    DetectionSettings,
    HttpSettings,
    InfluxV1StoreSettings,
    SqliteStoreSettings,
    StoreSettings,
    Webhook,
)
from collector.stores.sqlite import SqliteStore
from tests.support.rounds import make_round, make_status, message
from tests.support.services import InfluxDB, Mosquitto, free_port

CATALOG = Catalog(revision="test", targets=(Target(id="tiktok", domain="www.tiktok.com"),))
_ids = itertools.count()


def settings(mosquitto, tmp_path, store: StoreSettings, **overrides) -> CollectorSettings:
    base = {
        "client_id": f"collector-test-{next(_ids)}-{time.monotonic_ns()}",
        "mqtt": MqttSettings(url=mosquitto.url, backoff_cap_s=0.5),
        "store": store,
        "http": HttpSettings(listen="127.0.0.1:0"),
        "state_dir": str(tmp_path),
        "batch": BatchSettings(interval_s=0.05, backoff_cap_s=0.5),
        "detection": DetectionSettings(evaluate_interval_s=0.05),
    }
    return CollectorSettings(**{**base, **overrides})


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def publish(mosquitto, *messages: tuple[str, bytes]) -> None:
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


async def health(collector: Collector) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{collector.http_port}/health"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_rounds_are_stored_in_influxdb_and_bad_messages_counted(
    mosquitto, influxdb, tmp_path
):
    db = "service_rounds"
    store = InfluxV1StoreSettings(url=influxdb.url, database=db)
    now = time.time()
    good = make_round(probe="p1", seq=1, started=now - 1)
    raw = msgspec.json.decode(wire.encode(good))
    bad = [
        (wire.topic("p1", "round"), b"{broken"),
        (wire.topic("p1", "round"), b"x" * (wire.MAX_PAYLOAD + 1)),
        (wire.topic("p2", "round"), wire.encode(good)),  # someone else's topic
        ("balise/v1/probe/P1!/round", wire.encode(good)),
        (wire.topic("p1", "round"), msgspec.json.encode({**raw, "v": 2})),
    ]
    async with Collector(settings(mosquitto, tmp_path, store), catalog=CATALOG) as collector:
        counters = collector.counters
        await until(lambda: counters.mqtt_connected)
        await publish(mosquitto, message(good), *bad, message(good))  # a re-delivery too
        await publish(mosquitto, message(make_round(probe="p1", seq=2, started=now)))
        await until(lambda: counters.stored_rounds == 2 and counters.received == 8)
        assert counters.rejected == {
            "malformed": 1,
            "oversized": 1,
            "topic_mismatch": 1,
            "bad_topic": 1,
            "unknown_version": 1,
        }
        assert counters.duplicates == 1
        status, body = await health(collector)
        assert status == 200
        assert body["status"] == "ok"
        assert body["stored_rounds"] == 2
        assert body["rejected"]["malformed"] == 1
    (series,) = influxdb.query(db, "SELECT seq FROM round WHERE probe = 'p1'")
    assert [row[1] for row in series["values"]] == [1, 2]
    (series,) = influxdb.query(db, "SELECT count(ok) FROM target")
    assert series["values"][0][1] == 2 * len(good.targets)


async def test_the_catalog_is_published_retained(mosquitto, tmp_path):
    async with Collector(
        settings(mosquitto, tmp_path, SqliteStoreSettings()), catalog=CATALOG
    ) as collector:
        await until(lambda: collector.counters.mqtt_connected)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.subscribe(wire.CATALOG_TOPIC, qos=1)
            async with asyncio.timeout(5):
                received = await anext(aiter(client.messages))
    assert received.retain
    assert msgspec.json.decode(received.payload, type=Catalog) == CATALOG


async def test_rounds_wait_for_influxdb_and_nothing_is_dropped(mosquitto, tmp_path):
    server = InfluxDB(port=free_port(), workdir=tmp_path / "influx")
    (tmp_path / "influx").mkdir()
    store = InfluxV1StoreSettings(url=server.url, database="later", timeout_s=2)
    async with Collector(settings(mosquitto, tmp_path, store), catalog=CATALOG) as collector:
        counters = collector.counters
        await until(lambda: counters.mqtt_connected)
        rounds = (make_round(seq=s, started=time.time() - 60 * (4 - s)) for s in range(1, 4))
        await publish(mosquitto, *(message(r) for r in rounds))
        await until(lambda: counters.store_failures >= 2)
        status, body = await health(collector)
        assert status == 503
        assert body["status"] == "degraded"
        assert body["spilled"] == 3  # on disk, acknowledged, waiting for InfluxDB
        assert "Connect call failed" in str(body["last_store_error"])
        await asyncio.to_thread(server.start)
        try:
            await until(lambda: counters.stored_rounds == 3, timeout=20)
            (series,) = server.query("later", "SELECT count(seq) FROM round")
            assert series["values"][0][1] == 3
            assert (await health(collector))[0] == 200
        finally:
            server.stop()
    assert counters.store_dropped == 0


async def test_stopping_flushes_and_the_session_keeps_rounds_sent_while_away(mosquitto, tmp_path):
    base = settings(
        mosquitto, tmp_path, SqliteStoreSettings(), batch=BatchSettings(interval_s=3600, size=10**6)
    )
    async with Collector(base, catalog=CATALOG) as collector:
        await until(lambda: collector.counters.mqtt_connected)
        await publish(mosquitto, message(make_round(seq=1)), message(make_round(seq=2)))
        await until(lambda: collector.counters.received == 2)
        assert collector.counters.stored_rounds == 0  # still buffered: the interval is an hour
    # Stopped: the broker keeps our session and queues what arrives meanwhile.
    await publish(mosquitto, message(make_round(seq=3)))
    async with Collector(base, catalog=CATALOG) as collector:
        await until(lambda: collector.counters.received == 1)
    store = SqliteStore(tmp_path / "collector.sqlite3")
    try:
        assert (await store.counts())["rounds"] == 3
    finally:
        await store.close()


class ScriptedDetector:
    """Reports `events` at its first evaluation; keeps what it observes."""

    def __init__(self, events: list[Event]) -> None:
        self.pending = events
        self.reported: list[Event] = []
        self.seen: list[Round | Status | Heartbeat] = []

    def observe_round(self, round_: Round, received_at: float) -> None:
        assert received_at > 0
        self.seen.append(round_)

    def observe_status(self, status: Status, received_at: float) -> None:
        assert received_at > 0
        self.seen.append(status)

    def observe_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None:
        assert received_at > 0
        self.seen.append(heartbeat)

    def evaluate(self, now: float) -> list[Event]:
        assert now > 0
        if not self.seen:
            return []
        changed, self.pending = self.pending, []
        self.reported += changed
        return changed

    def events(self) -> list[Event]:
        return list(self.reported)

    def snapshot(self) -> bytes:
        return msgspec.json.encode(self.reported)

    def was_away(self) -> None:
        pass  # it reports what it was given, whatever the collector heard


@pytest.fixture
async def webhook_server():
    got: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app, host="127.0.0.1") as server:
        yield got, str(server.make_url("/hook"))


async def test_changed_events_go_to_mqtt_the_store_and_webhooks(
    mosquitto, tmp_path, webhook_server
):
    got, url = webhook_server
    event = Event(
        id="e-1",
        kind=EventKind.NETWORK_SHUTDOWN,
        state="open",
        scope=Scope(country="IR"),
        start=time.time() - 120,
        method="full",
        affected=2,
        total=2,
        confidence=0.95,
    )
    detector = ScriptedDetector([event])
    config = settings(
        mosquitto, tmp_path, SqliteStoreSettings(), webhooks=(Webhook(url=url, format="slack"),)
    )
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as listener:
        await listener.subscribe(wire.EVENTS_TOPIC, qos=1)
        async with Collector(config, catalog=CATALOG, detector=detector) as collector:
            await until(lambda: collector.counters.mqtt_connected)
            await publish(mosquitto, message(make_status("p1")), message(make_round(probe="p1")))
            async with asyncio.timeout(10):
                published = await anext(aiter(listener.messages))
            assert msgspec.json.decode(published.payload, type=Event) == event
            await until(lambda: len(got) == 1 and collector.counters.delivered.get("store") == 1)
            assert await collector.store.events() == [event]  # type: ignore[attr-defined]
            assert collector.counters.events_emitted == 1
    assert [type(m).__name__ for m in detector.seen] == ["Status", "Round"]
    assert msgspec.json.decode(got[0])["text"].startswith("[OPEN] Network shutdown (full) in IR")


class Fleet:
    """Three probes of one network rounding every `ROUND_S` through `broker` while `on`;
    a round that cannot be published is dropped (these probes keep no spool)."""

    ROUND_S = 0.4

    def __init__(self, broker: Mosquitto) -> None:
        self.broker = broker
        self.on = True
        self.seq = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.ROUND_S)
            if not self.on:
                continue
            self.seq += 1
            rounds = [make_round(probe=f"p{n}", seq=self.seq) for n in range(3)]
            with contextlib.suppress(aiomqtt.MqttError):  # the broker is down: round lost
                await publish(self.broker, *(message(r) for r in rounds))


async def test_a_broker_outage_is_not_read_as_the_fleet_falling_silent(tmp_path):
    """Cut from its broker the collector hears nobody: no shutdown. The same silence heard
    through a working broker is one (the test's check that it can see one at all)."""
    broker = Mosquitto(port=free_port(), workdir=tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    # A probe is silent 4 rounds (1.6 s) after it was last heard: room for a loaded machine
    # to notice the broker gone, and for the fleet to publish again once it is back.
    detection = DetectionSettings(round_s=Fleet.ROUND_S, silence_grace=3, evaluate_interval_s=0.05)
    detector = Detector(detection)
    config = settings(broker, tmp_path, SqliteStoreSettings())
    fleet = Fleet(broker)
    try:
        async with Collector(config, catalog=CATALOG, detector=detector) as collector:
            counters = collector.counters
            await until(lambda: counters.mqtt_connected)
            rounds = asyncio.create_task(fleet.run(), name="test.fleet")
            await until(lambda: counters.stored_rounds >= 3 * 5)
            broker.stop()  # twenty rounds' time: every probe's deadline passes
            await until(lambda: not counters.mqtt_connected)
            await asyncio.sleep(20 * Fleet.ROUND_S)
            broker.start()
            await until(lambda: counters.mqtt_connected)
            heard = counters.stored_rounds
            await until(lambda: counters.stored_rounds >= heard + 3 * 5)
            assert detector.events() == []
            fleet.on = False  # now the probes fall silent, and the collector hears that
            await until(lambda: detector.events() != [], timeout=15)
            rounds.cancel()
        (event,) = detector.events()
        assert event.kind == EventKind.NETWORK_SHUTDOWN
    finally:
        broker.stop()


async def test_acknowledgements_are_sent_again_after_a_lost_session_and_a_duplicate(
    mosquitto, tmp_path
):
    """Acknowledgements go at QoS 0 (cumulative and retained): what a session had on its
    way may be lost, so a new session sends every probe's again, and so does a round that
    arrives twice."""
    probe = f"ack-{time.monotonic_ns()}"
    config = settings(mosquitto, tmp_path, SqliteStoreSettings())
    acks: list[tuple[int, int]] = []  # (seq, QoS) as the probe receives them

    async def listen(client: aiomqtt.Client) -> None:
        async for got in client.messages:
            acks.append((wire.decode_ack(got.payload, probe).seq, got.qos))  # noqa: PERF401 - read while it grows

    async with (
        Collector(config, catalog=CATALOG) as collector,
        aiomqtt.Client("127.0.0.1", mosquitto.port) as listener,
    ):
        await listener.subscribe(wire.topic(probe, "ack"), qos=1)
        listening = asyncio.create_task(listen(listener), name="test.acks")
        try:
            await until(lambda: collector.counters.mqtt_connected)
            await publish(mosquitto, message(make_round(probe=probe, seq=1)))
            await publish(mosquitto, message(make_round(probe=probe, seq=2)))
            await until(lambda: acks and acks[-1][0] == 2)
            assert {qos for _, qos in acks} == {0}

            # The broker drops the collector's session when another client takes its id.
            heard = len(acks)
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1", mosquitto.port, identifier=config.client_id, clean_session=False
                ):
                    pass
            await until(lambda: len(acks) > heard)
            assert acks[heard:] == [(2, 0)]

            heard = len(acks)
            await publish(mosquitto, message(make_round(probe=probe, seq=1)))  # again
            await until(lambda: len(acks) > heard)
            assert acks[heard:] == [(2, 0)]
            assert collector.counters.duplicates == 1
        finally:
            listening.cancel()
