"""`balise bench probe` at another schedule: what it counts and how it reports it.

Figures are what the bench measures (docs/performance.md); this checks that they are
there and consistent, not how fast this machine is.
"""

import json

from balise.bench.probe import bench_probe


def test_bench_probe_counts_every_part_and_scales_the_day_to_the_schedule(tmp_path, capsys):
    out = tmp_path / "probe.json"
    assert bench_probe(rounds=2, json_out=out, round_s=120) == 0
    assert "--round-s 120" in capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert figures["round_s"] == 120
    assert figures["round_json_bytes"] > 3 * figures["round_payload_bytes"] > 0  # compressed
    if not figures["traffic_measured"]:  # counting needs root (nftables)
        return
    assert figures["anchors_ping"]  # root opens ping sockets for the run if need be
    for part in ("uplink", "https", "http", "throughput", "doh", "dns", "anchors"):
        assert figures[f"{part}_sent_bytes_per_round"] > 0, part
        assert figures[f"{part}_received_bytes_per_round"] > 0, part
    # HEAD over HTTPS: per target a handshake and headers, far less than its 100 kB page.
    assert figures["https_received_bytes_per_round"] < figures["targets"] * 20_000
    # Throughput: one download (256 kB) per throughput_every (12) rounds, objects in turns.
    downloads_per_round = 1 / 12
    assert (
        250_000 * downloads_per_round
        < figures["throughput_received_bytes_per_round"]
        < 300_000 * downloads_per_round
    )
    total = figures["sent_bytes_per_round"] + figures["received_bytes_per_round"]
    assert abs(figures["total_bytes_per_round"] - total) <= 1  # each rounded
    assert abs(figures["total_mb_per_day"] - total * 86_400 / 120 / 1e6) <= 0.1
