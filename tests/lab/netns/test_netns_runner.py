"""The netns runner: real probes, Mosquitto and collector in the lab, compressed time,
events back in scenario time; a SIGTERM or Ctrl-C mid-run leaves nothing behind."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from balise.lab.netns import runner, timeline
from balise.lab.netns.configs import TimeScale
from balise.lab.runner import LabEnvironmentError
from balise.lab.scenario import parse
from balise.lab.scorecard import score, selected_probes
from balise.model.events import Event, EventKind, Scope
from tests.conftest import is_root
from tests.lab.netns.conftest import needs_root
from tests.lab.netns.peek import netns_list, processes_mentioning

RUN_DIR = "balise-netns-netns-e2e-sni"  # the runner's temporary directory for this scenario
SNI_SCENARIO = """
format = 1
name = "netns-e2e-sni"
round_s = 10
duration_s = 80
control = false

[[network]]
name = "censored"
asn = 64510
country = "IR"
access = "mobile"

[[network]]
name = "free"
asn = 64511
country = "IR"
access = "fixed"

[[probe]]
id = "ir-mobile-1"
network = "censored"

[[probe]]
id = "ir-mobile-2"
network = "censored"

[[probe]]
id = "ir-fixed-1"
network = "free"

[[probe]]
id = "ir-fixed-2"
network = "free"

[[action]]
kind = "block_sni"
mode = "reset"
platforms = ["instagram"]
networks = ["censored"]
at_s = 20

[[expect]]
kind = "service_block"
platform = "instagram"
method = "tls"
scope = { asn = 64510 }
start_s = 20
"""


def test_the_timeline_ends_before_it_starts_at_the_same_instant():
    scenario = parse(
        SNI_SCENARIO
        + '[[action]]\nkind = "loss"\npercent = 5\nat_s = 10\nuntil_s = 20\n'
        + '[[action]]\nkind = "probe_down"\nprobes = ["ir-fixed-1"]\nat_s = 30\nuntil_s = 50\n',
        source="timeline.toml",
    )
    steps = [(s.at_s, s.verb, s.index) for s in timeline.steps(scenario)]
    assert steps == [
        (10, "apply", 1),
        (20, "remove", 1),
        (20, "apply", 0),
        (30, "apply", 2),
        (50, "remove", 2),
    ]


def test_time_scale_compresses_rounds_and_stretches_events_back():
    scale = TimeScale.for_round(10)
    assert scale.factor == pytest.approx(0.3)
    assert TimeScale.for_round(2).factor == 1.0  # never slower than the scenario
    t0 = 1_000.0
    event = Event(
        id="e",
        kind=EventKind.SERVICE_BLOCK,
        state="closed",
        scope=Scope(),
        start=t0 + 6,
        end=t0 + 12,
        first_emitted=t0 + 9,
        updated=t0 + 12,
    )
    back = scale.event_in_scenario_time(event, t0)
    assert (back.start, back.end, back.first_emitted) == pytest.approx((t0 + 20, t0 + 40, t0 + 30))
    assert back.id == "e"


def test_without_root_the_runner_refuses(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabEnvironmentError, match="netns mode needs root"):
        runner.run_netns([parse(SNI_SCENARIO, source="e2e.toml")])


@pytest.mark.services
@pytest.mark.skipif(not is_root(), reason="netns mode needs root")
@pytest.mark.root
def test_real_probes_and_collector_detect_an_sni_block(influxdb):
    scenario = parse(SNI_SCENARIO, source="e2e.toml")
    [(events, t0)] = runner.run_netns([scenario], influx_url=influxdb.url, influx_db="netns_e2e")
    result = score(scenario, events, t0)
    assert (result.matched, result.false_events) == (1, []), events
    block = next(e for e in events if e.kind == EventKind.SERVICE_BLOCK)
    assert selected_probes(scenario, block.scope) == {"ir-mobile-1", "ir-mobile-2"}
    assert abs(t0 - time.time()) < 120
    stored = influxdb.query("netns_e2e", "SHOW MEASUREMENTS")
    assert stored, "the collector in the lab wrote nothing to InfluxDB"
    assert processes_mentioning(RUN_DIR) == []


@needs_root[0]
@needs_root[1]
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_signal_mid_run_leaves_nothing(tmp_path, sig):
    path = tmp_path / "long.toml"
    path.write_text(SNI_SCENARIO.replace("duration_s = 80", "duration_s = 600"))
    run = subprocess.Popen(
        [sys.executable, "-m", "balise.cli", "lab", "run", "--mode", "netns", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (namespaces := lab_namespaces()):
            assert time.monotonic() < deadline, "the probes never started"
            assert run.poll() is None, run.communicate()
            time.sleep(0.2)
        run_prefix = namespaces[0].rpartition("-")[0] + "-"  # bl<run id>-
        run.send_signal(sig)
        status = run.wait(30)
    finally:
        run.kill()
    assert status == {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 130}[sig]
    assert [n for n in netns_list() if n.startswith(run_prefix)] == []
    assert processes_mentioning(RUN_DIR) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"{RUN_DIR}*"))


def lab_namespaces() -> list[str]:
    """The lab namespaces this test's probes run in, once they run."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if RUN_DIR in args and "probe run" in args:
                ns = subprocess.run(
                    ["ip", "netns", "identify", cmdline.parent.name],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip()
                found += [ns] if ns.startswith("bl") else []
    return found
