"""`balise bench probe` at another schedule: what it counts and how it reports it.

Figures are what the bench measures (docs/performance.md); this checks that they are
there and consistent, not how fast this machine is.
"""

import json

from balise.bench.probe import bench_probe


def test_bench_probe_counts_doh_and_pings_and_scales_the_day_to_the_schedule(tmp_path, capsys):
    out = tmp_path / "probe.json"
    assert bench_probe(rounds=2, json_out=out, round_s=120) == 0
    assert "--round-s 120" in capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert figures["round_s"] == 120
    assert figures["round_json_bytes"] > 3 * figures["round_payload_bytes"] > 0  # compressed
    if not figures["traffic_measured"]:  # counting needs root (nftables)
        return
    for part in ("uplink", "measure", "doh", "dns", "anchors"):
        assert figures[f"{part}_sent_bytes_per_round"] > 0, part
        assert figures[f"{part}_received_bytes_per_round"] > 0, part
    per_day = figures["sent_bytes_per_round"] * 86_400 / 120 / 1e6
    assert abs(figures["sent_mb_per_day"] - per_day) <= 0.1
