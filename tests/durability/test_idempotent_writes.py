"""A re-delivered round never counts twice: not in the real InfluxDB (even after a collector
restart, even with a clock that cannot be trusted), not in the detector."""

import asyncio
import time

import aiomqtt
import msgspec

from balise.model.catalog import Catalog, Target
from balise.model.messages import ClockInfo
from balise.mqtt import MqttSettings
from collector.detection.detector import Detector
from collector.service import Collector
from collector.settings import (
    BatchSettings,
    CollectorSettings,
    DetectionSettings,
    HttpSettings,
    InfluxV1StoreSettings,
)
from tests.support.rounds import make_round, message

CATALOG = Catalog(revision="test", targets=(Target(id="tiktok", domain="www.tiktok.com"),))


def settings(mosquitto, influxdb, tmp_path, database, client_id) -> CollectorSettings:
    return CollectorSettings(
        client_id=client_id,
        mqtt=MqttSettings(url=mosquitto.url, backoff_cap_s=0.5),
        store=InfluxV1StoreSettings(url=influxdb.url, database=database),
        http=HttpSettings(listen="127.0.0.1:0"),
        state_dir=str(tmp_path / "collector"),
        batch=BatchSettings(interval_s=0.05, backoff_cap_s=0.5),
        detection=DetectionSettings(evaluate_interval_s=3600),
    )


async def until(predicate, timeout=10.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def publish(mosquitto, *messages):
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)


def count(influxdb, database, query):
    series = influxdb.query(database, query)
    return series[0]["values"][0][1] if series else 0


async def test_a_redelivery_after_a_collector_restart_rewrites_the_same_points(
    mosquitto, influxdb, tmp_path
):
    # A Pi rebooted without NTP: its wall clock reads 1970, only its monotonic clock is good.
    unsynced = ClockInfo(mono=5000.0, boot_id="boot-x", synced=False)
    rounds = [
        msgspec.structs.replace(
            make_round(probe="idem-1", seq=seq, started=0.0, synced=False),
            clock=msgspec.structs.replace(unsynced, mono=5000.0 + 60 * seq),
        )
        for seq in (1, 2)
    ]
    conf = settings(mosquitto, influxdb, tmp_path, "idem", f"idem-{time.monotonic_ns()}")
    async with Collector(conf, catalog=CATALOG) as collector:
        await until(lambda: collector.counters.mqtt_connected)
        await publish(mosquitto, *(message(r) for r in rounds))
        await until(lambda: collector.counters.stored_rounds == 2)
    await asyncio.sleep(1.1)  # the arrival time of the re-delivery differs by over a second
    # The collector forgot which seqs it had seen; the probe, never acknowledged, replays.
    replayed = [msgspec.structs.replace(r, late=True) for r in rounds]
    async with Collector(conf, catalog=CATALOG) as collector:
        await until(lambda: collector.counters.mqtt_connected)
        await publish(mosquitto, *(message(r) for r in replayed))
        await until(lambda: collector.counters.stored_rounds == 2)
        assert collector.counters.duplicates == 0  # it did go to InfluxDB a second time
    assert count(influxdb, "idem", "SELECT count(seq) FROM round") == 2
    assert count(influxdb, "idem", "SELECT count(ok) FROM target") == 2 * len(rounds[0].targets)
    times = influxdb.query("idem", "SELECT seq FROM round")[0]["values"]
    assert times[1][0] - times[0][0] == 60  # placed a minute apart by the monotonic clock


async def test_the_detector_sees_a_redelivered_round_once(mosquitto, influxdb, tmp_path):
    detector = Detector()
    conf = settings(mosquitto, influxdb, tmp_path, "idem_det", f"idem-det-{time.monotonic_ns()}")
    round_ = make_round(probe="idem-2", seq=1)
    async with Collector(conf, catalog=CATALOG, detector=detector) as collector:
        await until(lambda: collector.counters.mqtt_connected)
        await publish(mosquitto, message(round_))
        await until(lambda: collector.counters.stored_rounds == 1)
        seen_once = detector.snapshot()
        await publish(
            mosquitto, message(round_), message(msgspec.structs.replace(round_, late=True))
        )
        await until(lambda: collector.counters.duplicates == 2)
        assert detector.snapshot() == seen_once
    assert count(influxdb, "idem_det", "SELECT count(seq) FROM round") == 1
