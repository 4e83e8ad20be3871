"""Two storage collectors share a fleet through an MQTT shared subscription; a third detects
and acknowledges. Against the real Mosquitto and InfluxDB: nothing lost, nothing twice."""

import asyncio
import time
import uuid

import pytest

from balise.config import ConfigError, decode_toml
from balise.model.catalog import Catalog, Target
from balise.mqtt import MqttSettings, make_client
from collector.detection.detector import Detector
from collector.service import Collector
from collector.settings import CollectorSettings, HttpSettings, InfluxV1StoreSettings
from collector.sharing import ShareSettings
from tests.support.rounds import make_round, message
from tests.support.services import Mosquitto, free_port

PROBES = 6
ROUNDS = 10
TARGETS = ("tiktok", "whatsapp", "youtube")
CATALOG = Catalog(targets=tuple(Target(id=t, domain=f"www.{t}.com") for t in TARGETS))


def settings(name, mosquitto, influxdb, database, tmp_path, share):
    return CollectorSettings(
        client_id=f"{name}-{database}",
        mqtt=MqttSettings(url=mosquitto.url),
        store=InfluxV1StoreSettings(url=influxdb.url, database=database),
        http=HttpSettings(listen="127.0.0.1:0"),
        state_dir=str(tmp_path / name),
        share=share,
    )


@pytest.fixture
def mosquitto(tmp_path):
    """A broker of this test's own: no retained message of another test reaches the hub."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    broker = Mosquitto(port=free_port(), workdir=workdir)
    broker.start()
    yield broker
    broker.stop()


async def test_two_storage_instances_share_the_fleet_and_one_acknowledges(
    mosquitto, influxdb, tmp_path
):
    database = f"share_{uuid.uuid4().hex[:8]}"
    group = ShareSettings(group=database, role="store")

    def collector(name, share, detector=None):
        return Collector(
            settings(name, mosquitto, influxdb, database, tmp_path, share),
            catalog=CATALOG,
            detector=detector,
        )

    detector = Detector()
    async with (
        collector("store-a", group, Detector()) as a,
        collector("store-b", group) as b,
        collector("detect", ShareSettings(group=database, role="detect"), detector) as hub,
    ):
        async with asyncio.timeout(10):
            while not all(c.counters.mqtt_connected for c in (a, b, hub)):
                await asyncio.sleep(0.05)
        t0 = time.time() - 3600
        async with make_client(
            MqttSettings(url=mosquitto.url), identifier=f"fleet-{database}", persistent=False
        ) as fleet:
            for seq in range(1, ROUNDS + 1):
                for n in range(PROBES):
                    round_ = make_round(
                        probe=f"p{n}", seq=seq, started=t0 + 60 * seq + n, targets=TARGETS
                    )
                    await fleet.publish(*message(round_), qos=1)
        probes = [f"p{n}" for n in range(PROBES)]
        async with asyncio.timeout(30):
            while any(hub.acks.acked(p) < ROUNDS for p in probes):
                await asyncio.sleep(0.05)

    stored = [a.counters.stored_rounds, b.counters.stored_rounds]
    assert all(stored), f"the broker gave one instance everything: {stored}"
    assert sum(stored) == PROBES * ROUNDS  # each round stored by exactly one instance
    assert hub.counters.stored_rounds == 0  # the detecting instance stores no round
    assert hub.counters.received == PROBES * ROUNDS  # and sees every one, once
    assert hub.counters.duplicates == 0
    assert hub.counters.rejected == {}
    assert sorted(detector.state.probe_ids) == probes
    assert [a.acks.acked(p) for p in probes] == [0] * PROBES  # storage instances never ack
    [series] = influxdb.query(database, 'SELECT count("ok") FROM "target"')
    assert series["values"][0][1] == PROBES * ROUNDS * len(TARGETS)


def test_a_share_group_must_be_one_topic_level():
    with pytest.raises(ConfigError, match=r"share\.group"):
        decode_toml(b'[share]\ngroup = "a/b"\n', CollectorSettings, source="collector.toml")
