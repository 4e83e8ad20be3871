"""The public scenario suite in sim mode, through the real ingest and detector."""

import json
import os
from pathlib import Path

import pytest

from balise.lab import scenario, sim
from balise.lab.runner import run_lab

SUITE = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
# A disruption is detected within two rounds of its start, plus this allowance: one
# round's own measuring time (timeouts included), its delivery and the evaluation tick.
ALLOWANCE_S = 5.0


@pytest.fixture(scope="module")
def suite_card(tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "card.json"
    code = run_lab("sim", SUITE, out)
    return code, json.loads(out.read_text())


def test_every_expectation_matched_and_no_false_event(suite_card):
    code, card = suite_card
    problems = {
        s["name"]: {"missed": s["missed"], "false": s["false_events"]}
        for s in card["scenarios"]
        if s["missed"] or s["false_events"]
    }
    assert problems == {}
    assert code == 0
    assert card["mode"] == "sim"
    assert card["matched"] == card["expected"] >= 20
    assert card["false_events"] == 0


def test_detection_delay_is_at_most_two_rounds(suite_card):
    _, card = suite_card
    rounds = {scenario.load(f).name: scenario.load(f).round_s for f in SUITE}
    late = {
        s["name"]: s["delays_s"]
        for s in card["scenarios"]
        if any(d > 2 * rounds[s["name"]] + ALLOWANCE_S for d in s["delays_s"])
    }
    assert late == {}
    assert all(d >= 0 for s in card["scenarios"] for d in s["delays_s"])


def test_the_suite_covers_every_kind_and_method():
    expects = [(e.kind.value, e.method) for f in SUITE for e in scenario.load(f).expect]
    kinds = {k for k, _ in expects}
    assert kinds == {
        "network_shutdown",
        "service_block",
        "throttling",
        "platform_outage",
        "probe_offline",
    }
    assert {m for k, m in expects if k == "service_block"} == {"dns", "tcp_ip", "tls", "http"}
    assert {m for k, m in expects if k == "network_shutdown"} == {"full", "international"}
    modes = {
        (a.__struct_config__.tag, getattr(a, "mode", None))
        for f in SUITE
        for a in scenario.load(f).action
    }
    for wanted in [
        ("block_dns", "nxdomain"),
        ("block_dns", "bogon"),
        ("block_dns", "blockpage"),
        ("block_ip", "drop"),
        ("block_ip", "reject"),
        ("block_sni", "reset"),
        ("block_sni", "drop"),
        ("shutdown", "full"),
        ("shutdown", "international"),
    ]:
        assert wanted in modes


def test_the_sim_goes_through_ingest_and_the_store():
    s = scenario.load(SUITE[0])
    result = sim.run(s)
    assert result.counters.received == result.messages > 0
    assert result.counters.rejected == {}
    assert result.counters.stored_rounds > 0.9 * result.messages / 2


def test_a_wrong_expectation_fails_the_scorecard(tmp_path, capsys):
    text = (SUITE[0].parent / "quiet-baseline.toml").read_text()
    wrong = tmp_path / "wrong.toml"
    expect = (
        '[[expect]]\nkind = "service_block"\nplatform = "tiktok"\nmethod = "dns"\nstart_s = 60\n'
    )
    wrong.write_text(f"{text}\n{expect}")
    assert run_lab("sim", [wrong], None) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL quiet-baseline: 0/1 matched")
    assert out[-1] == "0/1 expected events detected, 0 false events, max delay 0 s"


def test_an_invalid_file_stops_everything_before_it_starts(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((SUITE[0].parent / "quiet-baseline.toml").read_text() + "\nweather = 1\n")
    assert run_lab("sim", [SUITE[0], bad], tmp_path / "out.json") == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    assert str(bad) in captured.err
    assert "weather" in captured.err
    assert not (tmp_path / "out.json").exists()


def test_duplicate_scenario_names_are_invalid(tmp_path, capsys):
    copy = tmp_path / "copy.toml"
    copy.write_text(SUITE[0].read_text())
    assert run_lab("sim", [SUITE[0], copy], None) == 2
    assert "field name" in capsys.readouterr().err


def test_netns_mode_needs_root(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert run_lab("netns", SUITE[:1], None) == 2
    assert "netns mode needs root" in capsys.readouterr().err


@pytest.mark.services
def test_sim_into_influxdb(influxdb):
    s = scenario.load(SUITE[0])
    sim.run(s, influx_url=influxdb.url, influx_db="simlab")
    measurements = influxdb.query("simlab", "SHOW MEASUREMENTS")
    assert measurements
    names = {row[0] for row in measurements[0]["values"]}  # type: ignore[index]
    assert names


def test_parallel_labs_are_for_netns_mode(capsys):
    assert run_lab("sim", SUITE[:1], None, parallel=2) == 2
    assert "--parallel" in capsys.readouterr().err
    assert run_lab("netns", SUITE[:1], None, parallel=0) == 2
