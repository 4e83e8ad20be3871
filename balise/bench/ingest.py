"""`balise bench ingest`: how many results per second one collector stores, end to end.

Everything is real and on this machine: a Mosquitto broker and an InfluxDB 1.x the
bench starts in a temporary directory, the collector as `balise collector run`
(a process of its own, detection on, as in production), and a synthetic fleet
(balise/bench/fleet.py) publishing from separate processes, so that neither side
starves the other of the interpreter. A result is one target's outcome in one round.

1. Warm-up: every probe sends one round, so the collector knows the fleet (clock
   anchors, detector state) as it would after running for a while.
2. Capacity: with the collector and the baseline consumer (balise/bench/baseline.py)
   away, the fleet publishes `rate x seconds` results; the broker queues them for
   both persistent sessions. The baseline drains its queue, then the collector
   drains its own: results per second each, from connection to the last result
   decoded (baseline) or stored (collector). Their ratio is the collector's cost.
3. Sustained: the fleet publishes at `rate` for `seconds` while the collector runs;
   each round is timed from publication to the collector's acknowledgement, which
   is sent only once the round is stored.

Lost results are counted by InfluxDB itself: target points stored against results
published (a re-delivered round rewrites its points, so nothing counts twice).
"""

import contextlib
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from balise.bench import baseline, fleet
from balise.bench.services import (
    Influx,
    ServiceError,
    cpu_s,
    free_port,
    influxdb,
    mosquitto,
)

DATABASE = "bench"
# What docs/performance.md advises past a thousand probes: InfluxDB 1.x takes a point
# for about half the CPU in requests of 5000 rounds than in requests of 1000.
BATCH_SIZE = 5000
# The capacity phase queues at most this many rounds for the collector's session: with
# 81,819 queued, Mosquitto 2.0.11 twice stopped delivering them after ~32,000 (the
# collector connected, nothing more came); 41,000 went through. Not yet understood:
# docs/performance.md, "Known gaps".
MAX_QUEUED = 60_000
POLL_S = 0.1
STORE_TIMEOUT_S = 1800.0  # the collector must have stored a phase's results by then
STALL_S = 60.0  # or stored nothing for this long: what it has not stored is lost
START_TIMEOUT_S = 60.0
PREPARE_S = 5.0  # a publisher's start and connection
BUILD_S = 0.0005  # building one round (generous: ~0.25 ms measured on this machine)


@dataclass(frozen=True, slots=True)
class Phase:
    rounds: int
    results: int
    first_publish: float
    last_publish: float
    latencies: tuple[float, ...]
    unacked: int
    cpu_s: float  # the publishers' CPU


class CollectorProcess:
    """`balise collector run` with settings written for the bench; its health polled."""

    def __init__(self, workdir: Path, mqtt_port: int, influx: Influx) -> None:
        self.http_port = free_port()
        self.config = workdir / "collector.toml"
        self.config.write_text(
            'client_id = "bench-collector"\n'
            f'state_dir = "{workdir / "collector-state"}"\n'
            f'[mqtt]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n'
            f'[store]\nkind = "influx_v1"\nurl = "{influx.url}"\ndatabase = "{DATABASE}"\n'
            f'[http]\nlisten = "127.0.0.1:{self.http_port}"\n'
            f"[batch]\nsize = {BATCH_SIZE}\n"
        )
        self.log = workdir / "collector.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it; return the wall-clock time its MQTT session was up."""
        command = [sys.executable, "-m", "balise.cli", "collector", "run", "--config"]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and settings
                [*command, str(self.config)], stdout=log, stderr=log
            )
        return self.wait(lambda h: bool(h.get("mqtt_connected")), START_TIMEOUT_S, "connect")

    def health(self) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.http_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                body: dict[str, object] = json.load(reply)
        except urllib.error.HTTPError as exc:  # 503 while degraded: the body is the same
            body = json.load(exc)
        except (urllib.error.URLError, OSError):
            return {}
        return body

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[float, int]]]:
        """(wall-clock time, results stored) every `POLL_S` while the block runs: when the
        results were stored, whatever else the bench was waiting for then."""
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(POLL_S):
                value = self.health().get("stored_results")
                if isinstance(value, int):
                    samples.append((time.time(), value))

        poller = threading.Thread(target=poll, name="bench-stored-poller", daemon=True)
        poller.start()
        try:
            yield samples
        finally:
            stop.set()
            poller.join()

    def wait(self, done: Callable[[dict[str, object]], bool], timeout_s: float, what: str) -> float:
        """Poll /health until `done`; return the wall-clock time it was first seen."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ServiceError(f"the collector exited; see {self.log}")
            if done(self.health()):
                return time.time()
            time.sleep(POLL_S)
        raise ServiceError(f"the collector did not {what} within {timeout_s:g}s; see {self.log}")

    def wait_stored(self, results: int) -> float:
        """Wait until the collector has stored `results` results, or has stored nothing more
        for `STALL_S` (then the loss shows in InfluxDB's count); return when it got there."""
        last = (-1, time.monotonic(), time.time())

        def stored(health: dict[str, object]) -> bool:
            nonlocal last
            value = health.get("stored_results", 0)
            count = value if isinstance(value, int) else 0
            if count != last[0]:
                last = (count, time.monotonic(), time.time())
            elif time.monotonic() - last[1] > STALL_S:
                print(f"the collector stored nothing for {STALL_S:g}s: {count} of {results}")
                return True
            return count >= results

        self.wait(stored, STORE_TIMEOUT_S, f"store {results} results")
        return last[2]

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def pid(self) -> int:
        if self._process is None:
            raise ServiceError("the collector is not running")
        return self._process.pid

    def cpu_now(self) -> float:
        """CPU seconds the running collector has used so far."""
        if self._process is None:
            return 0.0
        return cpu_s(self._process.pid)


def _pid_started_with(config: Path) -> int:
    """The process whose command line names `config`: a daemon the bench started."""
    wanted = str(config).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if wanted in (entry / "cmdline").read_bytes().split(b"\0"):
                    return int(entry.name)
    raise ServiceError(f"no process runs with {config}")


class Fleet:
    """The synthetic fleet's probes and seqs, published by a few processes per phase."""

    def __init__(self, url: str, probes: int, targets: int, publishers: int) -> None:
        self.url = url
        self.targets = targets
        self.slices = [tuple(range(p, probes, publishers)) for p in range(publishers)]
        self.slices = [s for s in self.slices if s]
        self.seqs = [[1] * len(s) for s in self.slices]
        self._context = multiprocessing.get_context("spawn")

    def publish(
        self, rounds: int, *, rate: float = 0.0, pace: float = 0.0, acks: bool = False
    ) -> Phase:
        """`rounds` rounds in all, shared between the processes; `rate` in rounds/s, and
        `pace` the rounds/s their measurement times advance at (0: when published)."""
        share = len(self.slices)
        # A paced phase's rounds are built before it starts: time enough for that.
        start_at = time.time() + PREPARE_S + BUILD_S * rounds / share if rate > 0 else None
        jobs = [
            fleet.Job(
                url=self.url,
                probes=probes,
                first_seqs=tuple(self.seqs[n]),
                targets=self.targets,
                rounds=rounds // share + (1 if n < rounds % share else 0),
                rate=rate / share,
                pace=pace / share,
                start_at=start_at,
                acks=acks,
            )
            for n, probes in enumerate(self.slices)
        ]
        with self._processes(jobs) as pipes:
            for pipe in pipes:
                if pipe.recv() != fleet.READY:
                    raise ServiceError("a publisher did not start")
            for pipe in pipes:
                pipe.send(fleet.GO)
            reports: list[fleet.Report] = [pipe.recv() for pipe in pipes]
        for n, report in enumerate(reports):
            self.seqs[n] = list(report.next_seqs)
        latencies: list[float] = []
        for report in reports:
            latencies += memoryview(report.latencies).cast("d").tolist()
        return Phase(
            rounds=sum(r.published for r in reports),
            results=sum(r.results for r in reports),
            first_publish=min(r.first_publish for r in reports),
            last_publish=max(r.last_publish for r in reports),
            latencies=tuple(latencies),
            unacked=sum(r.unacked for r in reports),
            cpu_s=sum(r.cpu_s for r in reports),
        )

    @contextlib.contextmanager
    def _processes(self, jobs: Sequence[fleet.Job]) -> Iterator[list[Connection]]:
        pipes: list[Connection] = []
        processes = []
        try:
            for job in jobs:
                ours, theirs = self._context.Pipe()
                process = self._context.Process(
                    target=fleet.run_publisher, args=(job, theirs), name="bench-publisher"
                )
                process.start()
                pipes.append(ours)
                processes.append(process)
            yield pipes
        finally:
            for process in processes:
                process.join(30)
                if process.is_alive():
                    process.kill()


def _run_baseline(url: str, expected_rounds: int) -> baseline.BaselineReport | None:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=baseline.run_baseline, args=(url, expected_rounds, theirs), name="bench-baseline"
    )
    process.start()
    try:
        report: baseline.BaselineReport | None = ours.recv()
    except EOFError:
        raise ServiceError("the baseline consumer failed") from None
    finally:
        process.join(30)
    return report


@dataclass(frozen=True, slots=True)
class Storing:
    """How the collector stored a paced phase's results while the fleet published them."""

    caught_up: float  # when all were stored (wall clock)
    behind_max_s: float  # the furthest stored results trailed the publications, in seconds
    behind_max_at_s: float  # when, from the first publication


def _sustain(
    synthetic: Fleet, collector: CollectorProcess, rounds: int, seconds: float, before: int
) -> tuple[Phase, Storing]:
    """Publish `rounds` over `seconds` with the collector running (`before` results were
    stored earlier); return the phase and how its results were stored."""
    with collector.recording() as samples:
        # Returns once every acknowledgement came, or `ack_wait_s` later.
        live = synthetic.publish(rounds, rate=rounds / seconds, acks=True)
        caught_up = collector.wait_stored(before + live.results)
    stored = [(t, n - before) for t, n in samples]
    behind, behind_at = _behind_max(stored, live)
    return live, Storing(
        caught_up=next((t for t, n in stored if n >= live.results), caught_up),
        behind_max_s=behind,
        behind_max_at_s=behind_at,
    )


def _behind_max(stored: Sequence[tuple[float, int]], live: Phase) -> tuple[float, float]:
    """The furthest the results stored trailed those published, in seconds of publishing
    (the fleet publishes at a steady pace from its first publication to its last), and
    when, in seconds from the first publication."""
    span = live.last_publish - live.first_publish
    pace = live.results / span if span > 0 else math.inf
    behind = at = 0.0
    for t, n in stored:
        published = live.results if t >= live.last_publish else pace * (t - live.first_publish)
        if (trailing := (published - n) / pace) > behind:
            behind, at = trailing, t - live.first_publish
    return behind, at


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if len(values) < 2:  # noqa: PLR2004 - quantiles need two values
        only = values[0] * 1000 if values else None
        return {"p50_ms": only, "p90_ms": only, "p99_ms": only, "max_ms": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p90_ms": round(cuts[89] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def bench_ingest(
    probes: int = 13_400,
    targets: int = 11,
    seconds: float = 60.0,
    rate: float = 15_000.0,
    json_out: Path | None = None,
    publishers: int = 2,
) -> int:
    """Run the three phases; print the figures and the summary line; 0 when nothing is lost."""
    command = (
        f"balise bench ingest --probes {probes} --targets {targets} "
        f"--seconds {seconds:g} --rate {rate:g}"
    )
    rounds = max(1, math.ceil(rate * seconds / targets))
    queue = min(rounds, MAX_QUEUED)
    with (
        tempfile.TemporaryDirectory(prefix="balise-bench-ingest-") as tmp,
        mosquitto(Path(tmp)) as (mqtt_port,),
        influxdb(Path(tmp)) as influx,
    ):
        workdir = Path(tmp)
        url = f"mqtt://127.0.0.1:{mqtt_port}"
        synthetic = Fleet(url, probes, targets, publishers)
        collector = CollectorProcess(workdir, mqtt_port, influx)
        try:
            collector.start()
            print(f"warm-up: one round from each of {probes} probes", flush=True)
            started = time.time()
            warm = synthetic.publish(probes)
            collector.wait_stored(warm.results)
            warm_s = time.time() - started
            _run_baseline(url, 0)  # its session now queues what the fleet publishes
            collector.stop()

            print(f"capacity: {queue} rounds queued for the baseline and the collector", flush=True)
            # Measured at the fleet's pace, as a backlog built while the collector was away.
            queued = synthetic.publish(queue, pace=rounds / seconds)
            base = _run_baseline(url, queued.rounds)
            assert base is not None
            connected = collector.start()
            cpu_before = collector.cpu_now()
            drained = collector.wait_stored(queued.results)
            cpu_drain = collector.cpu_now() - cpu_before

            print(f"sustained: {rate:g} results/s for {seconds:g}s", flush=True)
            daemons = {
                "collector": collector.pid(),
                "influxdb": influx.pid,
                "mosquitto": _pid_started_with(workdir / "mosquitto.conf"),
            }
            cpu_at_start = {name: cpu_s(pid) for name, pid in daemons.items()}
            live, storing = _sustain(synthetic, collector, rounds, seconds, queued.results)
            live_cpu = {name: cpu_s(pid) - cpu_at_start[name] for name, pid in daemons.items()}
            live_cpu["fleet"] = live.cpu_s
            health = collector.health()
        finally:
            collector.stop()
        published = warm.results + queued.results + live.results
        stored = influx.count(DATABASE, "target", "ok")
    baseline_rate = base.results / max(base.last - base.connected, 1e-9)
    ingest_rate = queued.results / max(drained - connected, 1e-9)
    live_span = max(live.last_publish - live.first_publish, 1e-9)
    lost = max(0, published - stored)
    result: dict[str, object] = {
        "probes": probes,
        "targets": targets,
        "round_bytes": None,
        "warmup_s": round(warm_s, 1),
        "capacity_results": queued.results,
        "ingest_results_per_s": round(ingest_rate),
        "ingest_cpu_us_per_result": round(1e6 * cpu_drain / max(queued.results, 1), 1),
        "baseline_results_per_s": round(baseline_rate),
        "ratio": round(ingest_rate / baseline_rate, 2),
        "sustained_offered_results_per_s": round(live.results / live_span),
        "sustained_seconds": round(live_span, 1),
        # Published results over the time from the first publication until all were stored:
        # the last ones' way through the collector counts too, so a collector that keeps up
        # comes close to the offered rate, never above it.
        "sustained_stored_results_per_s": round(
            live.results / max(storing.caught_up - live.first_publish, 1e-9)
        ),
        # Kept up: all was stored this soon after the last publication (a batch interval
        # and a write, a second or two), not a backlog left to drain.
        "sustained_drain_s": round(storing.caught_up - live.last_publish, 1),
        "sustained_behind_max_s": round(storing.behind_max_s, 1),
        "sustained_behind_max_at_s": round(storing.behind_max_at_s, 1),
        "sustained_unacked_rounds": live.unacked,
        "sustained_cpu_us_per_result": {
            name: round(1e6 * cpu / max(live.results, 1), 1) for name, cpu in live_cpu.items()
        },
        # The CPU read for the phase (from before its first publication to its last
        # acknowledgement) over the time from its first publication until all was stored.
        "sustained_cores_used": round(
            sum(live_cpu.values()) / max(storing.caught_up - live.first_publish, 1e-9), 2
        ),
        **{f"latency_{k}": v for k, v in _percentiles(live.latencies).items()},
        "published_results": published,
        "stored_results": stored,
        "lost": lost,
        "collector_rejected": health.get("rejected"),
        "collector_duplicates": health.get("duplicates"),
        "collector_observer_errors": health.get("observer_errors"),
        # The fleet is healthy: every event is a false one (silence read into a backlog).
        "collector_events_emitted": health.get("events_emitted"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "command": command,
    }
    result["round_bytes"] = len(_sample_round(targets))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(
        f"ingest {ingest_rate:.0f} results/s, baseline {baseline_rate:.0f} results/s, "
        f"ratio {ingest_rate / baseline_rate:.2f}, lost {lost}"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if lost == 0 else 1


def _sample_round(targets: int) -> bytes:
    return fleet.payload(fleet.RoundMaker(targets).make(0, 2))
