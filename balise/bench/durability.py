"""`balise bench durability`: nothing a probe measured is lost or stored twice, whatever fails.

Synthetic probes (balise/bench/durability_probe.py: the real spool and uplink, generated
rounds, one process each) publish through a real Mosquitto running the shipped
configuration to the real collector (`balise collector run`, its own process), which
stores in a real InfluxDB. Meanwhile the run injects, at fixed fractions of its length:

- some probes cut from the broker (a shutdown) for two minutes, or a quarter of a short run;
- the collector SIGKILLed and started again, once with the store up, once with it down
  (rounds then live only in its disk buffer, already acknowledged);
- InfluxDB stopped for a while;
- the broker restarted;
- one probe SIGKILLed (a power cut) and started again, after a "reboot" (new boot id).

Then the probes stop measuring and wait for every acknowledgement, the collector empties
its buffers, and the run counts from InfluxDB itself what was stored, per probe and seq.
It prints a JSON summary and `sent N, stored N, lost 0`; it exits 1 if anything was lost
or stored twice.
"""

import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from balise.bench import daemons
from balise.bench.durability_probe import SPOOL_FILE
from balise.bench.relay import Relay
from probe.spool import Spool

log = logging.getLogger(__name__)

DATABASE = "bench"
TARGETS = 6
CUT_MAX_S = 120.0
RESTART_PAUSE_S = 2.0
DRAIN_TIMEOUT_S = 180.0


@dataclass
class Fleet:
    """The probe processes; the first `cut` ones reach the broker through the relay."""

    run_dir: Path
    broker_port: int
    relay_port: int
    count: int
    cut: int
    round_s: float
    processes: dict[str, daemons.Daemon] = field(default_factory=dict)

    @staticmethod
    def probe_id(i: int) -> str:
        return f"bench-{i:03d}"

    def daemon(self, i: int) -> daemons.Daemon:
        probe = self.probe_id(i)
        port = self.relay_port if i < self.cut else self.broker_port
        state = self.run_dir / "probes" / probe
        state.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "balise.bench.durability_probe",
            f"--id={probe}",
            f"--mqtt=mqtt://127.0.0.1:{port}",
            f"--state={state}",
            f"--round-s={self.round_s}",
            f"--targets={TARGETS}",
            f"--drain-s={DRAIN_TIMEOUT_S}",
            *(["--unsynced"] if i % 3 == 1 else []),  # a third have a clock in 1970
        ]
        spool = state / SPOOL_FILE
        return daemons.Daemon(probe, argv, state / "probe.log", spool.exists)

    def start(self, i: int) -> None:
        self.processes[self.probe_id(i)] = process = self.daemon(i)
        process.start()

    def start_all(self) -> None:
        for i in range(self.count):
            self.start(i)

    def sent(self) -> dict[str, int]:
        """Every probe's highest seq: rounds 1..N were spooled, so all must be stored."""
        out = {}
        for i in range(self.count):
            probe = self.probe_id(i)
            spool = Spool(self.run_dir / "probes" / probe / SPOOL_FILE)
            out[probe] = spool.next_seq() - 1
            spool.close()
        return out


@dataclass
class Timeline:
    t0: float = field(default_factory=time.monotonic)
    faults: list[dict[str, object]] = field(default_factory=list)

    def note(self, fault: str) -> None:
        at = round(time.monotonic() - self.t0, 1)
        self.faults.append({"at_s": at, "fault": fault})
        log.warning("t=%5.1fs %s", at, fault)

    async def at(self, offset_s: float, fault: str, action: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, self.t0 + offset_s - time.monotonic()))
        self.note(fault)
        await action()


def collector_config(run_dir: Path, broker_port: int, influx_port: int, http_port: int) -> Path:
    path = run_dir / "collector.toml"
    path.write_text(
        'client_id = "balise-bench-collector"\n'
        f'state_dir = "{run_dir / "collector"}"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{broker_port}"\nbackoff_cap_s = 2.0\n'
        f'[store]\nkind = "influx_v1"\nurl = "http://127.0.0.1:{influx_port}"\n'
        f'database = "{DATABASE}"\ntimeout_s = 5.0\n'
        "[batch]\ninterval_s = 0.2\nbackoff_cap_s = 2.0\nstop_timeout_s = 10.0\n"
        f'[http]\nlisten = "127.0.0.1:{http_port}"\n',
        encoding="utf-8",
    )
    return path


def influx_query(port: int, q: str) -> list[dict[str, object]]:
    query = urllib.parse.urlencode({"db": DATABASE, "q": q, "epoch": "u"})
    url = f"http://127.0.0.1:{port}/query?{query}"
    with urllib.request.urlopen(url, timeout=60) as response:
        body = json.load(response)
    result = body["results"][0]
    if "error" in result:
        raise RuntimeError(f"InfluxDB: {result['error']}")
    series: list[dict[str, object]] = result.get("series", [])
    return series


def count_stored(influx_port: int, sent: dict[str, int]) -> dict[str, int]:
    """Count from InfluxDB: points per (probe, seq) of rounds, and target results."""
    stored: dict[str, list[int]] = {probe: [] for probe in sent}
    for series in influx_query(influx_port, "SELECT seq FROM round GROUP BY probe"):
        probe = str(series["tags"]["probe"])  # type: ignore[index]
        stored.setdefault(probe, []).extend(int(row[1]) for row in series["values"])  # type: ignore[attr-defined]
    points = sum(len(seqs) for seqs in stored.values())
    distinct = {probe: set(seqs) for probe, seqs in stored.items()}
    expected = {probe: set(range(1, sent.get(probe, 0) + 1)) for probe in stored}
    results = influx_query(influx_port, "SELECT count(ok) FROM target")
    return {
        "stored": sum(len(seqs) for seqs in distinct.values()),
        "points": points,
        "duplicates_stored": points - sum(len(seqs) for seqs in distinct.values()),
        "lost": sum(len(expected[p] - distinct[p]) for p in stored),
        "unexpected": sum(len(distinct[p] - expected[p]) for p in stored),
        "results_stored": int(results[0]["values"][0][1]) if results else 0,  # type: ignore[index]
    }


def health(http_port: int) -> dict[str, object]:
    url = f"http://127.0.0.1:{http_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: dict[str, object] = json.load(response)
    except urllib.error.HTTPError as exc:  # 503 while degraded: still the counters
        body = json.load(exc)
    return body


async def settled(http_port: int, timeout_s: float) -> dict[str, object]:
    """Wait until the collector holds nothing in memory or on disk."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = await asyncio.to_thread(health, http_port)
        if body.get("buffered") == 0 and body.get("spilled") == 0:
            return body
        if time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.5)


async def run(probes: int, minutes: float, round_s: float, run_dir: Path) -> dict[str, object]:
    duration = minutes * 60
    ports = {name: daemons.free_port() for name in ("broker", "influx", "http")}
    influx = daemons.influxdb(run_dir / "influxdb", ports["influx"])
    broker = daemons.mosquitto(run_dir / "mosquitto", ports["broker"])
    config = collector_config(run_dir, ports["broker"], ports["influx"], ports["http"])
    the_collector = daemons.collector_process(config, ports["http"], run_dir / "collector.log")
    timeline = Timeline()
    started = time.monotonic()
    await asyncio.to_thread(influx.start)
    await asyncio.to_thread(broker.start)
    await asyncio.to_thread(the_collector.start)
    async with Relay(ports["broker"]) as relay:
        fleet = Fleet(
            run_dir, ports["broker"], relay.port, probes, max(1, probes // 4), round_s=round_s
        )
        await asyncio.to_thread(fleet.start_all)
        timeline.t0 = time.monotonic()
        cut_s = min(CUT_MAX_S, duration / 4)
        victim = fleet.count - 1

        async def restart(daemon: daemons.Daemon, *, kill: bool) -> None:
            await asyncio.to_thread(daemon.kill if kill else daemon.stop)
            await asyncio.sleep(RESTART_PAUSE_S)
            await asyncio.to_thread(daemon.start)

        async def cut() -> None:
            relay.cut()
            await asyncio.sleep(cut_s)
            timeline.note(f"{fleet.cut} probes reconnected")
            relay.restore()

        async def influx_outage() -> None:
            await asyncio.to_thread(influx.stop)
            await asyncio.sleep(duration * 0.2)
            timeline.note("InfluxDB started again")
            await asyncio.to_thread(influx.start)

        async def power_cut() -> None:
            await restart(fleet.processes[fleet.probe_id(victim)], kill=True)

        steps = [
            timeline.at(duration * 0.10, f"{fleet.cut} probes cut for {cut_s:.0f}s", cut),
            timeline.at(
                duration * 0.15,
                "collector SIGKILL",
                lambda: restart(the_collector, kill=True),
            ),
            timeline.at(duration * 0.30, "InfluxDB stopped", influx_outage),
            timeline.at(
                duration * 0.40,
                "collector SIGKILL while InfluxDB is down",
                lambda: restart(the_collector, kill=True),
            ),
            timeline.at(duration * 0.60, "broker restart", lambda: restart(broker, kill=False)),
            timeline.at(duration * 0.70, f"probe {victim} SIGKILL, new boot", power_cut),
            asyncio.sleep(duration),
        ]
        await asyncio.gather(*steps)
        timeline.note("probes stop measuring and wait for their acknowledgements")
        exits = await asyncio.gather(
            *(asyncio.to_thread(_stop, p) for p in fleet.processes.values())
        )
    timeline.note("waiting for the collector to empty its buffers")
    final = await settled(ports["http"], DRAIN_TIMEOUT_S)
    await asyncio.to_thread(the_collector.stop)
    sent = fleet.sent()
    counted = count_stored(ports["influx"], sent)
    await asyncio.to_thread(broker.stop)
    await asyncio.to_thread(influx.stop)
    total = sum(sent.values())
    return {
        "sent": total,
        **counted,
        "results_sent": total * TARGETS,
        "probes": probes,
        "minutes": minutes,
        "round_s": round_s,
        "probes_not_drained": sum(1 for code in exits if code != 0),
        "faults": timeline.faults,
        "collector": {
            key: final.get(key)
            for key in ("received", "duplicates", "clock_suspect", "clock_deferred", "rejected")
        },
        "elapsed_s": round(time.monotonic() - started, 1),
        "run_dir": str(run_dir),
    }


def _stop(process: daemons.Daemon) -> int:
    """SIGTERM a probe and return its exit status (0: every round acknowledged)."""
    assert process.process is not None
    running = process.process
    process.stop()
    return int(running.returncode)


def failed(summary: dict[str, object]) -> bool:
    return bool(
        summary["lost"]
        or summary["duplicates_stored"]
        or summary["unexpected"]
        or summary["results_stored"] != summary["results_sent"]
    )


def bench_durability(
    *,
    probes: int = 12,
    minutes: float = 10.0,
    round_s: float = 1.0,
    json_out: Path | None = None,
    keep: bool = False,
) -> int:
    run_dir = Path(tempfile.mkdtemp(prefix="balise-durability-"))
    try:
        summary = asyncio.run(run(probes, minutes, round_s, run_dir))
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    text = json.dumps(summary, indent=2)
    print(text)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")
    print(f"sent {summary['sent']}, stored {summary['stored']}, lost {summary['lost']}")
    return 1 if failed(summary) else 0
