"""The netns suite: a subset of tests/scenarios/ with every action kind, run by real
probes, Mosquitto, collector and InfluxDB in the lab, and the same files in sim mode.

It passes when every expected event is matched with zero false events, when both
modes give the same verdicts, and when the run leaves nothing behind. Two labs run
at a time: 8.5 minutes on two cores (docs/lab.md).
"""

import fcntl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from balise.lab import scenario, scorecard, sim
from balise.lab.netns import runner
from balise.lab.netns.cleanup import LAB_NAMESPACE
from balise.lab.scorecard import ScenarioScore
from tests.conftest import is_root
from tests.lab.netns.peek import netns_list, processes_mentioning, root_lab_tables

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# The subset, longest first (two run at a time), and the action kinds each one covers.
NETNS_SUITE = {
    "mm-shutdown-skewed-clock.toml": {"shutdown", "clock_skew"},
    "ir-international-shutdown.toml": {"shutdown"},
    "ir-mobile-all-traffic-throttle.toml": {"throttle"},
    "nc-tiktok-mobile-dns.toml": {"block_dns"},
    "ir-signal-ip-reject.toml": {"block_ip"},
    "ir-instagram-sni-reset.toml": {"block_sni"},
    "id-telegram-http-blockpage.toml": {"blockpage_http"},
    "random-loss.toml": {"loss"},
    "probe-power-loss.toml": {"probe_down"},
    "global-whatsapp-outage.toml": {"platform_down"},
}
ACTION_KINDS = {
    "block_dns",
    "block_ip",
    "block_sni",
    "blockpage_http",
    "throttle",
    "loss",
    "shutdown",
    "probe_down",
    "platform_down",
    "clock_skew",
}
PARALLEL = 2
RUN_DIRS = "balise-netns-"  # runner.py's temporary directories
# Held for the whole run: another checkout's suite on the same machine would otherwise
# see this run's namespaces as its leftovers, and compete for the two cores.
SUITE_LOCK = Path(tempfile.gettempdir()) / "balise-netns-suite.lock"

needs_root = [
    pytest.mark.root,
    pytest.mark.services,
    pytest.mark.skipif(not is_root(), reason="netns mode needs root"),
]


def load_suite() -> list[scenario.Scenario]:
    return [scenario.load(SCENARIOS / name) for name in NETNS_SUITE]


def test_the_subset_covers_every_action_kind_and_both_shutdowns():
    loaded = load_suite()
    kinds = {a.__struct_config__.tag for s in loaded for a in s.action}
    assert kinds == ACTION_KINDS
    for s, covered in zip(loaded, NETNS_SUITE.values(), strict=True):
        assert {a.__struct_config__.tag for a in s.action} == covered, s.name
    shutdowns = {getattr(a, "mode", None) for s in loaded for a in s.action}
    assert {"full", "international"} <= shutdowns


class Leftovers:
    """What of the lab's kind the machine holds: namespaces, their /etc/netns
    directories, root nftables tables, processes running from a run directory."""

    def __init__(self) -> None:
        self.namespaces = {ns for ns in netns_list() if LAB_NAMESPACE.match(ns)}
        etc = Path("/etc/netns")
        self.etc_dirs = {p.name for p in etc.glob("*") if LAB_NAMESPACE.match(p.name)}
        self.tables = root_lab_tables()
        self.processes = processes_mentioning(RUN_DIRS)


class Cards:
    """Both modes' scores of the subset, and what the machine held before and after."""

    def __init__(
        self,
        netns: list[ScenarioScore],
        sim_: list[ScenarioScore],
        before: Leftovers,
        after: Leftovers,
    ) -> None:
        self.netns = netns
        self.sim = sim_
        self.before = before
        self.after = after


@contextmanager
def suite_lock() -> Iterator[None]:
    with SUITE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def cards(influxdb) -> Cards:
    loaded = load_suite()
    with suite_lock():
        before = Leftovers()
        netns_runs = runner.run_netns(
            loaded, influx_url=influxdb.url, influx_db="netns_suite", parallel=PARALLEL
        )
        after = Leftovers()
    netns_scores = [
        scorecard.score(s, events, t0) for s, (events, t0) in zip(loaded, netns_runs, strict=True)
    ]
    sim_scores = []
    for s in loaded:
        result = sim.run(s)
        sim_scores.append(scorecard.score(s, result.events, result.t0))
    return Cards(netns_scores, sim_scores, before, after)


def readable(scores: list[ScenarioScore]) -> str:
    """The scorecard, with what each failing scenario missed and the false events."""
    lines = []
    for score in scores:
        lines.append(scorecard.scenario_line(score))
        lines += [f"    missed {m}" for m in score.missed]
        lines += [
            f"    false {e['kind']} {e.get('platform') or ''} {e['scope']} "
            f"start_s={e['start_s']} end_s={e['end_s']}"
            for e in score.false_events
        ]
    lines.append(scorecard.combine("netns", scores).summary_line())
    return "\n".join(lines)


@pytest.mark.timeout(1200)
@needs_root[0]
@needs_root[1]
@needs_root[2]
def test_netns_suite_matches_every_expectation_with_no_false_event(cards):
    print(readable(cards.netns))  # noqa: T201 - the scorecard, for the record (pytest -rP)
    card = scorecard.combine("netns", cards.netns)
    assert card.passed, "\n" + readable(cards.netns)
    assert card.matched == card.expected == sum(len(s.expect) for s in load_suite())


@needs_root[0]
@needs_root[1]
@needs_root[2]
def test_sim_and_netns_give_the_same_verdicts(cards):
    def verdict(score: ScenarioScore) -> tuple[str, int, list[object], int]:
        return score.name, score.matched, score.missed, len(score.false_events)

    assert [verdict(s) for s in cards.netns] == [verdict(s) for s in cards.sim], (
        "\nnetns:\n" + readable(cards.netns) + "\nsim:\n" + readable(cards.sim)
    )
    assert all(s.passed for s in cards.sim)


@needs_root[0]
@needs_root[1]
@needs_root[2]
def test_the_suite_leaves_nothing_behind(cards):
    """Checked against what was there before: a run killed earlier may have left some."""
    assert cards.after.namespaces - cards.before.namespaces == set()
    assert cards.after.etc_dirs - cards.before.etc_dirs == set()
    assert cards.after.tables == cards.before.tables
    assert set(cards.after.processes) - set(cards.before.processes) == set()
