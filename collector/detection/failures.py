"""Service blocks and platform outages: probes failing a target, told apart by the controls."""

import functools
import statistics
from typing import TYPE_CHECKING

from balise.model.events import EventKind
from collector.detection.book import enough
from collector.detection.families import Failing
from collector.detection.scopes import GLOBAL, cover
from collector.detection.signals import METHODS
from collector.detection.state import NEVER

if TYPE_CHECKING:
    from collector.detection.detector import Detector


def evaluate(d: "Detector", now: float) -> None:
    if not d.dirty_fail:
        return
    pending: set[int] = set()
    per_key = d.silent_per_key()
    for t in sorted(d.dirty_fail):
        if _target(d, now, t, per_key):
            pending.add(t)
    d.dirty_fail = pending


def _target(d: "Detector", now: float, t: int, per_key: dict[int, int]) -> bool:
    """Re-assess one target; True while the controls have not spoken yet."""
    probes = d.state.probes
    live = [p for p in d.failing.get(t, {}) if not probes[p].silent]
    outage = Failing(d, per_key, t, 0, EventKind.PLATFORM_OUTAGE)
    unclaimed = [p for p in live if outage.claim_of(p) == 0]
    verdict = _controls_fail(d, t, min((outage.start_of(p) for p in unclaimed), default=now))
    platform = d.state.target_ids[t]
    outages = d.book.open_of(outage)
    if outages and _controls_fail(d, t, NEVER) is False:
        for event in outages:
            d.book.close(event, _controls_recovered(d, t, now))
    elif outages or verdict is True:
        serials = {e.serial for e in outages}
        members = [p for p in live if outage.claim_of(p) in serials or outage.claim_of(p) == 0]
        d.book.reconcile(
            outage,
            [(d.scopes.intern(GLOBAL), members)] if members else [],
            now,
            can_open=lambda _k, ms: enough(outage, ms, probes, d.settings),
            platform=platform,
        )
    for method in range(1, len(METHODS)):
        fam = Failing(d, per_key, t, method, EventKind.SERVICE_BLOCK)
        opens = d.book.open_of(fam)
        serials = {e.serial for e in opens}
        members = [
            p
            for p in live
            if probes[p].targets[t].method == method
            and (fam.claim_of(p) == 0 or fam.claim_of(p) in serials)
        ]
        if not members and not opens:
            continue
        groups = cover(members, d.keys_of, fam.population, d.scopes.level, d.settings.wider_cost)
        d.book.reconcile(
            fam,
            groups,
            now,
            can_open=functools.partial(_can_block, d, fam, allowed=verdict is False),
            platform=platform,
        )
        for event in d.book.open_of(fam):
            event.method_name = METHODS[method]
    return verdict is None and bool(unclaimed)


def _can_block(d: "Detector", fam: Failing, key: int, members: list[int], *, allowed: bool) -> bool:
    del key
    return allowed and enough(fam, members, d.state.probes, d.settings)


def _fresh(d: "Detector", t: int, since: float) -> list[int]:
    """Controls that are heard and measured the target at or after `since`."""
    probes = d.state.probes
    return [
        c
        for c in d.controls
        if not probes[c].silent
        and t < len(probes[c].targets)
        and probes[c].targets[t].seen >= since
    ]


def _controls_fail(d: "Detector", t: int, since: float) -> bool | None:
    """Do the controls fail this target too? None: no control has measured it since."""
    probes = d.state.probes
    heard = [c for c in d.controls if not probes[c].silent]
    if not heard:
        return False  # no vantage point outside: a failure is taken as censorship
    fresh = _fresh(d, t, since)
    if not fresh:
        return None
    failing = sum(probes[c].targets[t].fails > 0 for c in fresh)
    return failing * 2 > len(fresh)


def _controls_recovered(d: "Detector", t: int, now: float) -> float:
    probes = d.state.probes
    ends = [
        probes[c].targets[t].recovered
        for c in _fresh(d, t, NEVER)
        if probes[c].targets[t].recovered != NEVER
    ]
    return statistics.median(ends) if ends else now
