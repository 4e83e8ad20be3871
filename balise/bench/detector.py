"""`balise bench detector`: the detector's memory and CPU per round for a large fleet.

Rounds are built once and shared between probes (only probe id, seq and times
change), so what is measured is the detector's own state and work.
"""

import gc
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

from balise.model.layers import Access, Layer
from balise.model.messages import ClockInfo, ProbeMeta, Round
from balise.model.results import AnchorResult, TargetResult, ThroughputResult
from collector.detection import DetectionSettings, Detector

ROUND_S = 60.0  # the production round interval
T0 = 1_750_000_000.0
STATE_LIMIT_MB = 500.0
NOISE_SHARE = 0.05  # probes with one failing target in a round


def bench_detector(
    probes: int = 10_000, targets: int = 40, rounds: int = 5, json_out: Path | None = None
) -> int:
    command = f"balise bench detector --probes {probes} --targets {targets} --rounds {rounds}"
    rng = random.Random(0)  # noqa: S311 - benchmark noise, not cryptography
    ok, variants = _target_sets(targets)
    anchors = _anchors()
    metas = [
        ProbeMeta(
            country=_country(c),
            region=f"r{c % 7}",
            asn=64496 + c % 400,
            network=f"net{c % 400}",
            access=Access.MOBILE if c % 3 else Access.FIXED,
        )
        for c in range(probes)
    ]
    ids = [f"probe-{n:05d}" for n in range(probes)]
    gc.collect()
    rss_before = _rss_mb()
    detector = Detector(DetectionSettings(round_s=ROUND_S))
    cpu_rounds: list[float] = []
    cpu_evaluate: list[float] = []
    evaluate_every = max(1, probes // 6)  # the collector evaluates every 10 s of a 60 s round
    for k in range(1, rounds + 1):
        observe_s = evaluate_s = 0.0
        for n in range(probes):
            at = k * ROUND_S + n * ROUND_S / probes
            chosen = variants[rng.randrange(len(variants))] if rng.random() < NOISE_SHARE else ok
            message = Round(
                probe=ids[n],
                seq=k,
                started=T0 + at,
                clock=ClockInfo(mono=at, boot_id="b", synced=True),
                meta=metas[n],
                targets=chosen,
                anchors=anchors,
            )
            start = time.process_time()
            detector.observe_round(message, T0 + at + 2.0)
            observe_s += time.process_time() - start
            if n % evaluate_every == 0:
                start = time.process_time()
                detector.evaluate(T0 + at + 2.0)
                evaluate_s += time.process_time() - start
        cpu_rounds.append(observe_s)
        cpu_evaluate.append(evaluate_s)
    gc.collect()
    state_mb = _rss_mb() - rss_before
    start = time.process_time()
    snapshot = detector.snapshot()
    snapshot_s = time.process_time() - start
    result = {
        "probes": probes,
        "targets": targets,
        "rounds": rounds,
        "round_interval_s": ROUND_S,
        "cpu_s_per_round": round(max(cpu_rounds), 3),
        "cpu_s_evaluate_per_round": round(max(cpu_evaluate), 3),
        "cpu_us_per_target_result": round(1e6 * min(cpu_rounds) / (probes * targets), 2),
        "state_rss_mb": round(state_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "snapshot_mb": round(len(snapshot) / 2**20, 1),
        "snapshot_cpu_s": round(snapshot_s, 3),
        "events": len(detector.events()),
        "python": sys.version.split()[0],
        "command": command,
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    per_round = max(cpu_rounds) + max(cpu_evaluate)
    fits = per_round < ROUND_S and state_mb <= STATE_LIMIT_MB
    print(
        f"{'ok' if fits else 'FAIL'}: one round of {probes} probes x {targets} targets takes "
        f"{per_round:.2f} CPU s "
        f"(interval {ROUND_S:g} s), state {state_mb:.0f} MB (limit {STATE_LIMIT_MB:g} MB)"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if fits else 1


def _country(c: int) -> str:
    return "ABCDEFGHIJ"[c % 10] + "ZYXWV"[c % 5]


def _target_sets(targets: int) -> tuple[tuple[TargetResult, ...], list[tuple[TargetResult, ...]]]:
    def result(n: int, *, failed: bool) -> TargetResult:
        return TargetResult(
            target=f"t{n:02d}",
            failed_layer=Layer.TCP if failed else None,
            failure="generic_timeout_error" if failed else None,
            throughput=None
            if failed
            else ThroughputResult(t0=0, t=1, url="https://x/", kbps=5000.0 + 100 * n),
        )

    ok = tuple(result(n, failed=False) for n in range(targets))
    variants = [tuple(result(n, failed=n == bad) for n in range(targets)) for bad in range(targets)]
    return ok, variants


def _anchors() -> tuple[AnchorResult, ...]:
    return tuple(
        AnchorResult(t0=0, t=0.01, anchor=role, role=role, method="tcp", address="192.0.2.1")
        for role in ("gateway", "domestic", "international")
    )


def _rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
