"""Throttling: throughput far under each probe's own baseline, per platform or for all traffic."""

from typing import TYPE_CHECKING

from collector.detection.book import Family, enough
from collector.detection.families import AllSlow, Slow
from collector.detection.scopes import cover

if TYPE_CHECKING:
    from collector.detection.detector import Detector


def evaluate(d: "Detector", now: float) -> None:
    if not d.dirty_slow and not d.dirty_all_slow:
        return
    per_key = d.silent_per_key()
    probes = d.state.probes
    for t in sorted(d.dirty_slow):
        fam = Slow(d, per_key, t)
        # A platform slow from the control vantage points too is congested, not throttled.
        global_slowness = any(
            t < len(probes[c].targets) and probes[c].targets[t].slow > 0 for c in d.controls
        )
        _assess(
            d, now, fam, list(d.slow.get(t, {})), d.state.target_ids[t], allowed=not global_slowness
        )
    d.dirty_slow = set()
    if d.dirty_all_slow:
        _assess(d, now, AllSlow(d, per_key), list(d.all_slow), None, allowed=True)
        d.dirty_all_slow = False


def _assess(
    d: "Detector",
    now: float,
    fam: Family,
    candidates: list[int],
    platform: str | None,
    *,
    allowed: bool,
) -> None:
    opens = d.book.open_of(fam)
    serials = {e.serial for e in opens}
    members = [p for p in candidates if fam.affected_now(p) and fam.claim_of(p) in serials | {0}]
    if not members and not opens:
        return
    groups = cover(members, d.keys_of, fam.population, d.scopes.level, d.settings.wider_cost)
    probes = d.state.probes

    def can_open(_key: int, ms: list[int]) -> bool:
        return allowed and enough(fam, ms, probes, d.settings)

    d.book.reconcile(fam, groups, now, can_open=can_open, platform=platform)
