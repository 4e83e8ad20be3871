"""Probe → real Mosquitto → collector → real InfluxDB, read back with InfluxQL."""

import asyncio

import msgspec

from balise.model.layers import Access
from balise.mqtt import MqttSettings
from collector.detection.detector import Detector
from collector.service import Collector
from collector.settings import CollectorSettings, HttpSettings, InfluxV1StoreSettings
from probe.service import Probe
from probe.settings import ProbeIdentity, ProbeSettings
from tests.e2e.world import loopback_world


async def test_rounds_land_in_influxdb_and_are_acknowledged(mosquitto, influxdb, tmp_path):
    mqtt = MqttSettings(url=mosquitto.url, protocol="5")
    async with loopback_world(tmp_path) as world:
        catalog_file = tmp_path / "catalog.toml"
        catalog_file.write_bytes(msgspec.toml.encode(msgspec.to_builtins(world.catalog)))
        collector_settings = CollectorSettings(
            client_id="collector-e2e",
            mqtt=mqtt,
            store=InfluxV1StoreSettings(url=influxdb.url, database="e2e"),
            http=HttpSettings(listen="127.0.0.1:0"),
            state_dir=str(tmp_path / "collector"),
        )
        probe_settings = ProbeSettings(
            id="e2e-1",
            location=ProbeIdentity(country="NC", region="Sud", asn=64500, access=Access.MOBILE),
            state_dir=str(tmp_path / "probe"),
            round_s=1.0,
            jitter=0.0,
            catalog=str(catalog_file),
            mqtt=mqtt,
            measure=world.measure,
        )
        async with Collector(
            collector_settings, catalog=world.catalog, detector=Detector()
        ) as collector:
            async with Probe(probe_settings) as probe:
                while probe.rounds_done < 3:
                    await asyncio.sleep(0.1)
                await probe.stop_measuring()
                assert await probe.drained(15), "the collector never acknowledged every round"
            await collector.flush()
            assert collector.counters.rejected == {}

    rows = influxdb.query(
        "e2e",
        "SELECT ok, failure, failed_layer FROM target WHERE probe = 'e2e-1' "
        "AND country = 'NC' AND access = 'mobile'",
    )
    [series] = rows
    columns = series["columns"]
    points = [dict(zip(columns, values, strict=True)) for values in series["values"]]
    reachable = [p for p in points if p["failed_layer"] is None]
    blocked = [p for p in points if p["failed_layer"] == "dns"]
    assert len(reachable) == probe.rounds_done
    assert all(p["ok"] for p in reachable)
    assert len(blocked) == probe.rounds_done
    assert {p["failure"] for p in blocked} == {"dns_nxdomain_error"}
    # A round's points share its time; its seq is on the round point.
    [rounds] = influxdb.query("e2e", "SELECT seq FROM round WHERE probe = 'e2e-1'")
    seq_at = dict(rounds["values"])
    assert sorted(seq_at[p["time"]] for p in reachable) == list(range(1, probe.rounds_done + 1))
    [throughput] = influxdb.query("e2e", "SELECT count(kbps) FROM throughput")
    assert throughput["values"][0][1] >= 1
