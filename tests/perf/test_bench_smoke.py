"""The benchmarks run end to end on a tiny scale: output shape and nothing lost, not speed.

Speed is what `balise bench ingest` and `balise bench probe` measure (docs/performance.md);
a timed test would only measure how busy this machine is.
"""

import json
import re

from balise.bench.ingest import bench_ingest
from balise.bench.probe import bench_probe

SUMMARY = re.compile(
    r"^ingest (\d+) results/s, baseline (\d+) results/s, ratio (\d+\.\d+), lost (\d+)$"
)


def test_bench_ingest_stores_everything_and_says_so(tmp_path, capsys):
    out = tmp_path / "ingest.json"
    status = bench_ingest(probes=12, targets=3, seconds=2, rate=300, json_out=out, publishers=1)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    figures = json.loads(out.read_text())
    assert status == 0
    assert figures["lost"] == 0 == int(match.group(4))
    assert figures["stored_results"] == figures["published_results"] > 0
    assert figures["sustained_unacked_rounds"] == 0
    assert figures["ingest_results_per_s"] > 0
    assert figures["baseline_results_per_s"] > 0
    assert figures["ratio"] == float(match.group(3))
    assert figures["latency_p50_ms"] <= figures["latency_p99_ms"] <= figures["latency_max_ms"]
    assert figures["collector_rejected"] == {}
    cpu = figures["sustained_cpu_us_per_result"]
    assert set(cpu) == {"collector", "influxdb", "mosquitto", "fleet"}
    assert cpu["collector"] > 0
    assert cpu["influxdb"] > 0
    assert figures["sustained_cores_used"] > 0
    assert figures["sustained_stored_results_per_s"] > 0
    assert figures["sustained_drain_s"] >= 0  # all stored after the last publication
    assert figures["sustained_behind_max_s"] >= 0
    assert figures["sustained_behind_max_at_s"] >= 0


def test_bench_probe_reports_memory_cpu_start_up_and_traffic(tmp_path, capsys):
    out = tmp_path / "probe.json"
    assert bench_probe(rounds=2, json_out=out) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("probe peak RSS ")
    figures = json.loads(out.read_text())
    assert figures["targets"] == 11  # the default catalog's
    assert figures["peak_rss_mb"] >= figures["rss_mb"] > 0
    assert figures["cpu_s_per_round"] > 0
    assert (
        0 < figures["startup_to_first_round_start_s"] < figures["startup_to_first_round_received_s"]
    )
    assert figures["round_payload_bytes"] > 1000
    if figures["traffic_measured"]:  # root: nftables counted every packet
        assert figures["uplink_sent_bytes_per_round"] > figures["round_payload_bytes"]
        assert figures["sent_mb_per_day"] > 0
