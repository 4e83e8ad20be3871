"""`balise dashboards check` against the real InfluxDB, after sim scenarios wrote to it."""

import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from balise.cli import main
from balise.lab.runner import run_lab
from dashboards import model
from dashboards.check import data_range, panel_series, variable_values
from dashboards.influxdb import InfluxQuery
from tests.support.services import free_port

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# Between them: a throttling, a block still open at the end, shutdowns, a probe power cut.
WITH_EVENTS = [
    SCENARIOS / name
    for name in (
        "ru-twitter-throttle.toml",
        "ir-signal-ip-reject.toml",
        "mm-curfew-shutdowns.toml",
        "probe-power-loss.toml",
    )
]


def panel_names():
    return {
        f"{board.title} / {panel.title}"
        for board in model.boards()
        for panel in model.leaf_panels(board.panels)
    }


def create_database(influxdb, name):
    query = urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
    with urllib.request.urlopen(f"{influxdb.url}/query", data=query, timeout=10):  # noqa: S310
        pass


@pytest.fixture(scope="module")
def simulated(influxdb):
    database = "dashboards_sim"
    assert run_lab("sim", WITH_EVENTS, None, influx_url=influxdb.url, influx_db=database) == 0
    return database


def check(capsys, url, database):
    code = main(["dashboards", "check", "--influx-url", url, "--db", database])
    return code, capsys.readouterr().out.splitlines()


def test_every_panel_returns_data_after_scenarios_with_events(influxdb, simulated, capsys):
    code, lines = check(capsys, influxdb.url, simulated)
    failing = [line for line in lines if line.startswith("FAIL")]
    assert failing == []
    assert code == 0
    passed = {m.group(1) for line in lines if (m := re.match(r"ok +(.+) \(\d+ rows\)$", line))}
    assert panel_names() <= passed
    # Events were written, so the annotation queries find some.
    annotated = [
        int(m.group(1))
        for line in lines
        if "annotation" in line and (m := re.search(r"\((\d+) rows\)", line))
    ]
    assert sum(annotated) > 0


def test_an_empty_database_fails_naming_dashboard_and_panel(influxdb, capsys):
    create_database(influxdb, "dashboards_empty")
    code, lines = check(capsys, influxdb.url, "dashboards_empty")
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL")]
    assert "FAIL  Balise: overview / Events: query A: empty result" in failing
    assert "FAIL  Balise: fleet / Probes: query A: empty result" in failing
    # Every panel is reported, not just the first failure.
    assert len(failing) >= len(panel_names()) - 1
    assert lines[-1].endswith("failing")


def test_a_missing_database_fails_at_once(influxdb, capsys):
    code, lines = check(capsys, influxdb.url, "dashboards_nowhere")
    assert code == 1
    assert lines[0].startswith(f"FAIL  InfluxDB {influxdb.url}, database dashboards_nowhere: ")
    assert "database not found" in lines[0]
    assert len(lines) == 2


def test_an_unreachable_influxdb_fails_at_once(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, lines = check(capsys, url, "balise")
    assert code == 1
    assert lines[0].startswith(f"FAIL  InfluxDB {url}, database balise: cannot reach InfluxDB")
    assert len(lines) == 2


async def panel_rows(influxdb, database, board_uid, title):
    """The rows of a panel's first query as Grafana would run it, as dicts per series."""
    board = next(b for b in model.boards() if b.uid == board_uid)
    panel = next(p for p in model.leaf_panels(board.panels) if p.title == title)
    async with InfluxQuery(influxdb.url, database) as influx:
        window = await data_range(influx)
        values = await variable_values(influx, board, window)
        results = await panel_series(influx, panel, values, window)
    series = next(iter(results.values()))
    return values, [
        dict(s.tags) | dict(zip(s.columns, row, strict=True)) for s in series for row in s.rows
    ]


async def test_panels_say_what_the_scenarios_did(influxdb, simulated):
    _, ongoing = await panel_rows(influxdb, simulated, "balise-overview", "Ongoing events")
    # ir-signal-ip-reject's block lasts to the end of the scenario.
    assert ongoing[0]["ongoing"] >= 1

    _, blocking = await panel_rows(
        influxdb, simulated, "balise-platforms", "Blocking seen in the selected range"
    )
    signal_ir = {
        r["failed_layer"] for r in blocking if (r["target"], r["country"]) == ("signal", "IR")
    }
    assert signal_ir == {"tcp"}

    _, events = await panel_rows(influxdb, simulated, "balise-overview", "Events")
    kinds = {r["kind"] for r in events}
    assert {"throttling", "service_block", "network_shutdown", "probe_offline"} <= kinds
    assert all(r["since"] > 1e12 for r in events)  # milliseconds, as Grafana wants them

    _, probes = await panel_rows(influxdb, simulated, "balise-fleet", "Probes")
    assert "ru-rt-1" in {r["probe"] for r in probes}


async def test_the_event_dashboard_follows_the_newest_event(influxdb, simulated):
    ids = influxdb.query(simulated, 'SHOW TAG VALUES FROM "event" WITH KEY = "id"')
    newest = max(value for _, value in ids[0]["values"])
    values, summary = await panel_rows(influxdb, simulated, "balise-event", "The event")
    assert values["event"].text == newest
    assert len(summary) == 1
    query = f'SELECT * FROM "event" WHERE "id" = \'{newest}\''  # noqa: S608 - our own id
    tags = influxdb.query(simulated, query)[0]
    event = dict(zip(tags["columns"], tags["values"][0], strict=True))
    assert values["event_country"].text == (event["country"] or "")
    assert values["event_platform"].text == (event["platform"] or "")
    _, probes = await panel_rows(influxdb, simulated, "balise-event", "Probes in the event's scope")
    assert probes
    if event["country"]:
        assert {r["country"] for r in probes} == {event["country"]}
