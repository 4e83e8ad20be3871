"""Broker, collector, one probe and the status page, in one process.

Everything runs on embedded defaults: an in-process MQTT 3.1.1 broker (amqtt),
the collector on its SQLite store, one probe measuring the catalog from this
machine. `--for` stops it and prints a JSON summary.
"""

import asyncio
import contextlib
import json
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from balise.config import load_toml
from balise.demo.broker import EmbeddedBroker
from balise.model.catalog import Catalog
from balise.model.events import Event
from balise.model.layers import Access
from balise.model.messages import Round
from balise.mqtt import MqttSettings
from collector.detection.detector import Detector
from collector.detection.settings import DetectionSettings
from collector.service import Collector
from collector.settings import CollectorSettings, HttpSettings, SqliteStoreSettings
from probe.measure_settings import MeasureSettings
from probe.service import Probe
from probe.settings import ProbeIdentity, ProbeMqttSettings, ProbeSettings

ROUND_S = 15.0
DRAIN_S = 15.0  # at the end, how long to wait for the collector to acknowledge every round


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cut_off(last: Round | None, controls: frozenset[str]) -> str | None:
    """Why the probe itself has no working Internet access, or None when it has.

    Nothing answers, not even the anchors; or the control sites, which no
    censor targets, fail like everything else. Either way the failures say
    nothing about the platforms.
    """
    if last is None or not last.targets:
        return None
    if not all(t.failed_layer for t in last.targets):
        return None
    if last.anchors and all(a.failure for a in last.anchors):
        return "no anchor answers (gateway, resolver, international)"
    failed_controls = [t for t in last.targets if t.target in controls]
    if failed_controls:
        first = failed_controls[0]
        return f"even the control site {first.target} fails ({first.failure})"
    return None


def diagnosis(last: Round | None, events: list[Event], controls: frozenset[str]) -> str:
    if last is None:
        return "no round was measured"
    why = cut_off(last, controls)
    if why:
        return (
            f"this probe is cut off from the Internet: {why}. "
            "Its own connection is down; this is not a block of the platforms."
        )
    blocked = sorted({e.platform for e in events if e.kind == "service_block" and e.platform})
    if blocked:
        return "platforms blocked from here: " + ", ".join(blocked)
    failing = [t.target for t in last.targets if t.failed_layer]
    if failing:
        return "reachable, with failures for: " + ", ".join(failing)
    return "every platform and anchor is reachable from this probe"


async def _wait_until(stop: asyncio.Event, duration_s: float | None) -> None:
    if duration_s is None:
        await stop.wait()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration_s)


async def run_demo(
    *,
    duration_s: float | None = None,
    http_port: int = 8470,
    catalog: Path | None = None,
    round_s: float = ROUND_S,
    measure: MeasureSettings | None = None,
) -> int:
    """Run until `duration_s` passes or a signal; `measure` overrides how the probe measures."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="balise-demo-") as workdir:
        state = Path(workdir)
        async with EmbeddedBroker("127.0.0.1", _free_port()) as broker:
            mqtt = MqttSettings(url=broker.url, protocol="3.1.1", keepalive_s=10)
            collector_settings = CollectorSettings(
                mqtt=mqtt,
                store=SqliteStoreSettings(),
                http=HttpSettings(listen=f"127.0.0.1:{http_port}"),
                state_dir=str(state / "collector"),
                detection=DetectionSettings(round_s=round_s, evaluate_interval_s=2.0),
            )
            fleet = load_toml(catalog, Catalog) if catalog else None
            probe_settings = ProbeSettings(
                id="demo",
                location=ProbeIdentity(country="ZZ", region="demo", access=Access.FIXED),
                state_dir=str(state / "probe"),
                round_s=round_s,
                heartbeat_s=5.0,
                catalog=str(catalog) if catalog else None,
                mqtt=ProbeMqttSettings(**msgspec.structs.asdict(mqtt)),
                measure=measure or MeasureSettings(round_deadline_s=round_s - 3, traceroute=False),
            )
            detector = Detector(collector_settings.detection)
            probe = Probe(probe_settings)
            async with Collector(
                collector_settings, catalog=fleet or probe.catalog, detector=detector
            ) as collector:
                print(f"status page: http://127.0.0.1:{collector.http_port}/", flush=True)
                async with probe:
                    await _wait_until(stop, duration_s)
                    await probe.stop_measuring()
                    await probe.drained(DRAIN_S)
                    unacknowledged = probe.spool.backlog()
                await collector.flush()
                summary = _summary(probe, collector, detector, time.monotonic() - started)
                summary["unacknowledged_rounds"] = unacknowledged
    if duration_s is not None:
        print(json.dumps(summary, indent=2))
    return 0


def _summary(
    probe: Probe, collector: Collector, detector: Detector, elapsed: float
) -> dict[str, Any]:
    counters = collector.counters
    events = detector.events()
    controls = frozenset(t.id for t in probe.catalog.targets if t.kind == "control")
    return {
        "duration_s": round(elapsed, 1),
        "rounds_measured": probe.rounds_done,
        "results_measured": probe.results_measured,
        "results_published": probe.uplink.results_published,
        "results_stored": counters.stored_results,
        "lost": probe.results_measured - counters.stored_results,
        "rounds_stored": counters.stored_rounds,
        "rejected": counters.rejected,
        "probe_cut_off": cut_off(probe.last_round, controls) is not None,
        "diagnosis": diagnosis(probe.last_round, events, controls),
        "events": msgspec.to_builtins(events),
    }
