"""`balise bench influx` writes everything it says it wrote and reports InfluxDB's CPU."""

import json

from balise.bench.influx import bench_influx


def test_bench_influx_stores_every_result_and_measures_influxdb(tmp_path, capsys):
    out = tmp_path / "influx.json"
    assert bench_influx(probes=20, targets=3, rounds=2, batch=15, json_out=out) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(out.read_text())
    assert last == f"influxdb {figures['influxdb_cpu_us_per_result']} us of CPU per result"
    assert figures["results_written"] == 20 * 2 * 3
    assert figures["stored_results"] == figures["results_written"] + 20 * 3  # and the warm-up
    assert figures["influxdb_cpu_us_per_result"] > 0
    assert figures["write_results_per_s"] > 0
