"""Events and timelines exported from a real InfluxDB 1.x equal those exported from SQLite."""

import asyncio
import csv
import io

import pytest

from balise.cli import main
from collector.settings import InfluxV1StoreSettings
from collector.stores.influx_v1 import InfluxV1Store

pytestmark = pytest.mark.services


async def store_events(url, database, events):
    store = InfluxV1Store(InfluxV1StoreSettings(url=url, database=database))
    try:
        await store.write_events(events)
    finally:
        await store.close()


def export(capsys, *argv):
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(out)))


def test_influx_events_equal_sqlite_events(influxdb, sim_store, capsys):
    path, events = sim_store
    asyncio.run(store_events(influxdb.url, "exports", events))
    influx = ["--influx", influxdb.url, "--database", "exports"]
    for what in ("events", "timeline"):
        from_influx = export(capsys, what, *influx)
        from_sqlite = export(capsys, what, "--sqlite", str(path))
        assert from_influx == from_sqlite
    filtered = export(capsys, "events", *influx, "--country", "IR", "--kind", "service_block")
    assert len(filtered) == 3


def test_influx_collector_config_exports_events_not_measurements(influxdb, tmp_path, capsys):
    config = tmp_path / "collector.toml"
    config.write_text(
        f'[store]\nkind = "influx_v1"\nurl = "{influxdb.url}"\ndatabase = "exports"\n'
    )
    code = main(["export", "events", "--config", str(config), "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.startswith("[")
    code = main(["export", "measurements", "--config", str(config)])
    assert code == 2
    assert "InfluxDB keeps no whole measurements" in capsys.readouterr().err
