"""Silence: synchronized disconnections are shutdowns, a lone one is a probe offline.

While only silence is known a shutdown's method is provisional ("full"); the
rounds measured meanwhile arrive late, after the reconnection, and refine its
start, end and method (`finish`). A probe alone in its network that falls silent
is a provisional probe_offline, turned into a network_shutdown if its late rounds
show the network cut; none at all means it lost power.
"""

import statistics
from typing import TYPE_CHECKING

from balise.model.events import EventKind
from collector.detection.families import Silent
from collector.detection.scopes import cover
from collector.detection.signals import SHUTDOWN_METHODS
from collector.detection.state import FULL, INTERNATIONAL, NEVER, OK, UPLINK, Episode, EventState

if TYPE_CHECKING:
    from collector.detection.detector import Detector

COUNTRY, ASN, PROBE = 1, 4, 7  # positions in ProbeState.keys (scopes.probe_keys)
SYNCHRONIZED = 2  # probes silent together: a disconnection of their network
SHUTDOWN = EventKind.NETWORK_SHUTDOWN.value
OFFLINE = EventKind.PROBE_OFFLINE.value


def evaluate(d: "Detector", now: float) -> None:
    opens = [e for e in d.book.open.values() if e.family == "silence"]
    if not (d.dirty_silence or d.silent or d.refine or opens):
        return
    if d.dirty_silence:
        d.dirty_silence = False
        d.silence_left = _regroup(d, now)
    offline = Silent(d, {}, EventKind.PROBE_OFFLINE, {})
    for i in d.silence_left:
        p = d.state.probes[i]
        episode = p.episode()
        if episode is not None and episode.event == 0 and _settled(d, i, now):
            _offline(d, offline, i, now)
            d.dirty_silence = True
    _close_offline(d)
    for serial in sorted(d.refine):
        event = d.book.by_serial.get(serial)
        if event is not None:
            finish(d, event)
    d.refine.clear()


def _regroup(d: "Detector", now: float) -> list[int]:
    """Group the silent probes into shutdowns; return the ones left alone."""
    probes = d.state.probes
    excluded: dict[int, int] = {}
    affected: list[int] = []
    for i in d.silent:
        episode = probes[i].episode()
        event = d.book.open.get(episode.event) if episode and episode.event else None
        if event is not None and event.kind == OFFLINE:
            for k in probes[i].keys:
                excluded[k] = excluded.get(k, 0) + 1
        elif episode is not None and (episode.event == 0 or event is not None):
            affected.append(i)
    fam = Silent(d, {}, EventKind.NETWORK_SHUTDOWN, excluded)
    groups = cover(affected, d.keys_of, fam.population, d.scopes.level, d.settings.wider_cost)
    before = {e.serial for e in d.book.open_of(fam)}
    left = d.book.reconcile(
        fam, groups, now, can_open=lambda _k, members: len(members) >= SYNCHRONIZED, platform=None
    )
    for event in d.book.open_of(fam):
        if event.serial not in before:
            event.method_name = "full"
            event.note = "synchronized silence; method provisional until late data"
    for serial in before - set(d.book.open):
        d.refine.add(serial)
    return [i for _key, members in left for i in members]


def _settled(d: "Detector", i: int, now: float) -> bool:
    """Has every sign of a wider disconnection had time to show? Then it is this probe alone."""
    probes = d.state.probes
    p = probes[i]
    episode = p.episode()
    if episode is None:
        return False
    noticed = episode.noticed
    if now >= noticed + 2 * p.interval:
        return True
    # A peer heard after this probe's next round should have arrived was connected after
    # any cut that silenced this probe. (Its Last Will, when sooner, bounds it too.)
    missed = min(noticed, episode.lo_rx + p.interval * (1 + d.settings.silence_grace / 2))
    members = d.scopes.members
    peers = [q for q in members[p.keys[ASN]] if q != i]
    if peers:
        return any(not probes[q].silent and probes[q].last_rx > missed for q in peers)
    country = [q for q in members[p.keys[COUNTRY]] if q != i]
    window = d.settings.sync_rounds * p.interval
    for q in country:
        other = probes[q].episode()
        if other is not None and abs(other.since - episode.since) <= window:
            return False  # silent together with others: wait for the groups to form
    others = [q for q in country if not probes[q].silent]
    if not others:
        return now >= noticed + p.interval
    heard = sum(probes[q].last_rx > missed for q in others)
    return heard >= d.settings.lone_settle * len(others)


def _offline(d: "Detector", fam: Silent, i: int, now: float) -> None:
    p = d.state.probes[i]
    episode = p.episode()
    assert episode is not None  # _settled checked it
    event = d.book.create(fam, p.keys[PROBE], now, platform=None)
    event.provisional = len(d.scopes.members[p.keys[ASN]]) == 1
    event.note = (
        "alone in its network: provisional until late data"
        if event.provisional
        else "silent while its network's other probes report"
    )
    event.probes.append(i)
    event.affected = event.total = 1
    event.confidence = 0.9 if p.lwt_at != NEVER else 0.7
    episode.event = event.serial
    event.start = episode.since


def _close_offline(d: "Detector") -> None:
    for event in [e for e in d.book.open.values() if e.kind == OFFLINE]:
        episode = _episodes(d, event)
        if all(ep.back != NEVER for _, ep in episode):
            d.book.close(event, max(ep.back for _, ep in episode))
            d.refine.add(event.serial)


def _episodes(d: "Detector", event: EventState) -> list[tuple[int, Episode]]:
    probes = d.state.probes
    return [(i, ep) for i in event.probes for ep in probes[i].episodes if ep.event == event.serial]


def finish(d: "Detector", event: EventState) -> None:
    """Refine an event of silence from the rounds measured during it (late data)."""
    episodes = _episodes(d, event)
    if not episodes:
        return
    counts = {OK: 0, FULL: 0, INTERNATIONAL: 0, UPLINK: 0}
    for _, ep in episodes:
        for _, cls, _ in ep.marks:
            counts[cls] += 1
    cut = counts[FULL] + counts[INTERNATIONAL]
    if event.kind == OFFLINE and event.provisional and cut and cut >= counts[UPLINK]:
        i = episodes[0][0]
        event.kind = SHUTDOWN
        event.provisional = False
        event.scope_key = _alone(d, i)
        event.note = "one probe's network, cut: refined from late data"
    if event.kind == SHUTDOWN:
        if cut:
            event.method_name = SHUTDOWN_METHODS[
                INTERNATIONAL if counts[INTERNATIONAL] > counts[FULL] else FULL
            ]
            event.note = f"refined from {cut} rounds measured during it"
            event.confidence = max(event.confidence, 0.9)
        starts = [_start(ep) for _, ep in episodes]
        event.start = statistics.median(starts)
        event.rounds = [(i, seq) for i, ep in episodes for _, cls, seq in ep.marks if cls != OK][
            :50
        ] or event.rounds
    else:
        event.start = statistics.median(ep.since for _, ep in episodes)
    if not event.open:
        ends = [_end(ep) for _, ep in episodes if ep.back != NEVER]
        if ends:
            event.end = max(event.start, statistics.median(ends))
    d.book.changed.add(event.serial)


def _alone(d: "Detector", i: int) -> int:
    """The widest scope that holds this probe and no other."""
    members = d.scopes.members
    keys = d.state.probes[i].keys
    return next(k for k in keys[1:] if len(members[k]) == 1)


def _start(ep: Episode) -> float:
    cuts = [placed for placed, cls, _ in ep.marks if cls in (FULL, INTERNATIONAL)]
    if not cuts:
        return ep.since
    first = min(cuts)
    before = [placed for placed, cls, _ in ep.marks if cls == OK and placed < first]
    return (max([ep.lo, *before]) + first) / 2


def _end(ep: Episode) -> float:
    cuts = [placed for placed, cls, _ in ep.marks if cls in (FULL, INTERNATIONAL)]
    if not cuts:
        return ep.back
    last = max(cuts)
    after = [placed for placed, cls, _ in ep.marks if cls == OK and placed > last]
    return (last + min(after, default=ep.back)) / 2
