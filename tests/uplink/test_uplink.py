"""The probe uplink against a real Mosquitto: publish, acknowledge, replay, Last Will."""

import asyncio
import subprocess
import sys
import textwrap

import aiomqtt

from balise import wire
from balise.model.catalog import Catalog, Target
from balise.model.messages import Ack
from balise.mqtt import MqttSettings
from probe.spool import Spool
from probe.uplink import Uplink
from tests.foundation.test_wire import make_round


def uplink(mosquitto, spool, probe_id, catalogs=None, **kwargs):
    return Uplink(
        probe_id,
        MqttSettings(url=mosquitto.url),
        spool,
        version="test",
        on_catalog=(catalogs.append if catalogs is not None else lambda _: None),
        clock_synced=lambda: True,
        **kwargs,
    )


async def collect(client, count, timeout=10.0):
    received = []
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            received.append(message)
            if len(received) == count:
                return received
    return received


async def test_live_round_then_ack_empties_the_spool(mosquitto, tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(wire.topic("live-1", "round"), qos=1)
        async with uplink(mosquitto, spool, "live-1") as link:
            await asyncio.sleep(0.3)
            spool.append(make_round(probe="live-1", seq=1))
            link.round_spooled()
            [message] = await collect(watcher, 1)
            received = wire.decode_round(message.payload, "live-1")
            assert received.seq == 1
            assert not received.late
            await watcher.publish(
                wire.topic("live-1", "ack"), wire.encode(Ack(probe="live-1", seq=1)), qos=1
            )
            async with asyncio.timeout(5):
                while spool.backlog():
                    await asyncio.sleep(0.05)
    assert spool.pending() == []


async def test_backlog_is_replayed_oldest_first_and_marked_late(mosquitto, tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    for seq in (1, 2, 3):  # measured while cut off
        spool.append(make_round(probe="late-1", seq=seq))
    spool.ack(1)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(wire.topic("late-1", "round"), qos=1)
        async with uplink(mosquitto, spool, "late-1", replay_per_s=50):
            messages = await collect(watcher, 2)
    rounds = [wire.decode_round(m.payload, "late-1") for m in messages]
    assert [r.seq for r in rounds] == [2, 3]
    assert all(r.late for r in rounds)


async def test_last_will_marks_a_killed_probe_offline(mosquitto, tmp_path):
    script = textwrap.dedent(f"""
        import asyncio, pathlib
        from balise.mqtt import MqttSettings
        from probe.spool import Spool
        from probe.uplink import Uplink
        async def main():
            spool = Spool(pathlib.Path({str(tmp_path / "spool.sqlite")!r}))
            link = Uplink("will-1", MqttSettings(url={mosquitto.url!r}), spool, version="t",
                          on_catalog=lambda _: None, clock_synced=lambda: True)
            async with link:
                await asyncio.sleep(60)
        asyncio.run(main())
    """)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(wire.topic("will-1", "status"), qos=1)
        process = subprocess.Popen([sys.executable, "-c", script])
        try:
            states = []
            async with asyncio.timeout(15):
                async for message in watcher.messages:
                    status = wire.decode_status(message.payload, "will-1")
                    states.append(status)
                    if status.state == "online":
                        process.kill()  # a power cut: no goodbye
                    elif states[0].state == "online":
                        break
        finally:
            process.kill()
            process.wait()
    assert states[-1].state == "offline"
    assert states[-1].at is None  # the Last Will, sent by the broker


async def test_catalog_is_picked_up_live(mosquitto, tmp_path):
    catalogs: list[Catalog] = []
    spool = Spool(tmp_path / "spool.sqlite")
    fleet = Catalog(revision="fleet-7", targets=(Target(id="tiktok", domain="www.tiktok.com"),))
    async with uplink(mosquitto, spool, "cat-1", catalogs=catalogs):
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as admin:
            import msgspec  # noqa: PLC0415

            await admin.publish(wire.CATALOG_TOPIC, msgspec.json.encode(fleet), qos=1, retain=True)
        async with asyncio.timeout(5):
            while not catalogs:
                await asyncio.sleep(0.05)
    assert catalogs[-1] == fleet
