"""`balise bench influx`: what InfluxDB 1.x alone costs per result, as the collector writes.

The collector's own line protocol (collector/stores/lineprotocol.py) for the bench fleet's
rounds (balise/bench/fleet.py), in requests of `batch` rounds, to an InfluxDB started
with the deployed settings (balise/bench/services.py). The rounds' series are created
first (one round per probe), as in a database that has been running; then `rounds` rounds
per probe are written as fast as InfluxDB takes them. InfluxDB's CPU is read from /proc
before the writes and after its last cache snapshot, which an idle cache triggers after
`cache-snapshot-write-cold-duration` (set short here): the cost of writing the data to
disk is counted, not left for later.
"""

import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from balise.bench.fleet import RoundMaker
from balise.bench.services import ServiceError, influxdb, peak_rss_mb
from balise.model.messages import Round
from collector.received import Received
from collector.stores import lineprotocol

DATABASE = "bench"
COLD_S = 5  # an idle cache is snapshotted after this long
SETTLE_S = 3 * COLD_S  # waited after the last write, for that snapshot
RETRIES = 20  # a request InfluxDB times out on is sent again, as the collector would


def bench_influx(
    *,
    probes: int = 13_400,
    targets: int = 11,
    rounds: int = 10,
    batch: int = 5000,
    json_out: Path | None = None,
) -> int:
    command = (
        f"balise bench influx --probes {probes} --targets {targets} --rounds {rounds} "
        f"--batch {batch}"
    )
    maker = RoundMaker(targets)
    with (
        tempfile.TemporaryDirectory(prefix="balise-bench-influx-") as tmp,
        influxdb(Path(tmp), cold_snapshot_s=COLD_S) as server,
    ):
        _post(f"{server.url}/query", {"q": f"CREATE DATABASE {DATABASE}"}, b"")
        for start in range(0, probes, batch):
            _write(server.url, [maker.make(n, 1) for n in range(start, min(probes, start + batch))])
        pending = [maker.make(n, seq) for seq in range(2, rounds + 2) for n in range(probes)]
        results = sum(len(r.targets) for r in pending)
        cpu_before, started = server.cpu_s(), time.monotonic()
        retried = sum(
            _write(server.url, pending[i : i + batch]) for i in range(0, len(pending), batch)
        )
        written = time.monotonic()
        time.sleep(SETTLE_S)
        cpu = server.cpu_s() - cpu_before
        stored = server.count(DATABASE, "target", "ok")
        rss_mb = peak_rss_mb(server.pid)
    figures: dict[str, object] = {
        "probes": probes,
        "targets": targets,
        "rounds_written": len(pending),
        "results_written": results,
        "batch_rounds": batch,
        "write_results_per_s": round(results / max(written - started, 1e-9)),
        "influxdb_cpu_us_per_result": round(1e6 * cpu / max(results, 1), 1),
        "influxdb_cores_at_15000_results_per_s": round(15_000 * cpu / max(results, 1), 2),
        "influxdb_peak_rss_mb": round(rss_mb),
        "requests_retried": retried,
        "stored_results": stored,
        "cpus": os.cpu_count(),
        "command": command,
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print(f"influxdb {figures['influxdb_cpu_us_per_result']} us of CPU per result")
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n")
    expected = results + probes * targets
    return 0 if stored == expected else 1


def _write(url: str, rounds: Sequence[Round]) -> int:
    """Write `rounds`; return how many times InfluxDB had to be asked again."""
    received = [Received(r, b"", time.time()) for r in rounds]
    body = lineprotocol.lines(received).encode()
    params = {"db": DATABASE, "precision": lineprotocol.PRECISION_V1}
    for attempt in range(RETRIES):
        try:
            _post(f"{url}/write", params, body)
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # noqa: PLR2004 - a refusal is final, a server error is not
                raise ServiceError(f"InfluxDB refused a write: {exc.read()[:300]!r}") from exc
            time.sleep(1)
        else:
            return attempt
    raise ServiceError(f"InfluxDB failed a write {RETRIES} times")


def _post(url: str, params: dict[str, str], body: bytes) -> None:
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(f"{url}?{query}", data=body, method="POST")  # noqa: S310 - our loopback server
    with urllib.request.urlopen(request, timeout=120) as reply:  # noqa: S310 - our loopback server
        reply.read()
