"""Events: creation, matching groups of affected probes to open events, change tracking."""

import statistics
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from balise.model.events import Event, EventKind, Evidence
from collector.detection.scopes import ScopeIndex, to_scope
from collector.detection.settings import DetectionSettings
from collector.detection.state import DetectorState, EventState, ProbeState

MAX_ROUNDS = 50  # evidence rounds kept per event


class Family(Protocol):
    """One kind of evidence about one thing (a target and method, all traffic, silence)."""

    kind: EventKind
    family: str
    target: int
    method: int

    def affected_now(self, probe: int) -> bool: ...
    def claim_of(self, probe: int) -> int: ...
    def set_claim(self, probe: int, serial: int) -> None: ...
    def start_of(self, probe: int) -> float: ...
    def end_of(self, probe: int) -> float | None: ...
    def evidence_of(self, probe: int) -> int: ...
    def seq_of(self, probe: int) -> int: ...
    def population(self, key: int) -> int: ...


Group = tuple[int, list[int]]  # scope key, probes


def enough(fam: Family, members: list[int], probes: list[ProbeState], s: DetectionSettings) -> bool:
    """Enough bad rounds to open an event, lasting on at least one probe, and not only from
    probes with impossible clocks. A noisy probe's rounds count less (docs/detection.md)."""
    evidence = 0.0
    for p in members:
        weight = s.noisy_weight if probes[p].noise >= s.noisy_share else 1.0
        evidence += weight * min(fam.evidence_of(p), s.max_run)
    needed = s.lone_evidence if len(members) == 1 else s.open_evidence
    return (
        evidence >= needed
        and max(fam.evidence_of(p) for p in members) >= 2  # noqa: PLR2004 - twice in a row
        and not all(probes[p].impossible for p in members)
    )


class Book:
    def __init__(
        self, state: DetectorState, scopes: ScopeIndex, settings: DetectionSettings
    ) -> None:
        self._state = state
        self._scopes = scopes
        self._settings = settings
        self.by_serial: dict[int, EventState] = {e.serial: e for e in state.events}
        self.open: dict[int, EventState] = {e.serial: e for e in state.events if e.open}
        self.changed: set[int] = set()
        self._emitted: dict[int, Event] = {}

    # -- lifecycle -------------------------------------------------------------

    def create(self, fam: Family, key: int, now: float, *, platform: str | None) -> EventState:
        serial = self._state.next_serial
        self._state.next_serial += 1
        event = EventState(
            serial=serial,
            id=f"ev-{int(now)}-{serial}",
            kind=fam.kind.value,
            family=fam.family,
            target=fam.target,
            method=fam.method,
            scope_key=key,
            start=now,
            first_emitted=now,
            updated=now,
            platform=platform,
        )
        self._state.events.append(event)
        self.by_serial[serial] = event
        self.open[serial] = event
        self.changed.add(serial)
        return event

    def close(self, event: EventState, end: float) -> None:
        event.open = False
        event.end = max(end, event.start)
        self.open.pop(event.serial, None)
        self.changed.add(event.serial)

    def open_of(self, fam: Family) -> list[EventState]:
        return [
            e
            for e in self.open.values()
            if e.family == fam.family
            and e.target == fam.target
            and e.method == fam.method
            and e.kind == fam.kind.value
        ]

    # -- matching --------------------------------------------------------------

    def reconcile(
        self,
        fam: Family,
        groups: Sequence[Group],
        now: float,
        *,
        can_open: Callable[[int, list[int]], bool],
        platform: str | None,
    ) -> list[Group]:
        """Match each group to the open event it overlaps most, or open one, or none.

        An open event's scope only ever widens; it closes when less than
        `keep_fraction` of its scope is still affected. Returns the groups left over.
        """
        opens = self.open_of(fam)
        left: list[Group] = []
        for key, members in sorted(groups, key=lambda g: -len(g[1])):
            target = self._best_match(fam, opens, members, key)
            if target is None:
                if not can_open(key, members):
                    left.append((key, members))
                    continue
                target = self.create(fam, key, now, platform=platform)
                opens.append(target)
            elif target.scope_key != key and self._wider(key, target.scope_key):
                target.scope_key = key
            self._claim(fam, target, members)
        for event in opens:
            self._refresh(fam, event, now)
        return left

    def _best_match(
        self, fam: Family, opens: list[EventState], members: list[int], key: int
    ) -> EventState | None:
        best, overlap = None, 0
        for event in opens:
            count = sum(fam.claim_of(p) == event.serial for p in members)
            if count > overlap:
                best, overlap = event, count
        if best is not None:
            return best
        for event in opens:  # newly affected probes inside an open event's scope
            if all(event.scope_key in self._state.probes[p].keys for p in members):
                return event
        for event in opens:  # or a wider scope that holds an open event
            if self._wider(key, event.scope_key):
                return event
        return None

    def _claim(self, fam: Family, event: EventState, members: list[int]) -> None:
        known = set(event.probes)
        for p in members:
            fam.set_claim(p, event.serial)
            if p not in known:
                event.probes.append(p)
                known.add(p)
            if len(event.rounds) < MAX_ROUNDS:
                seq = fam.seq_of(p)
                if seq and (p, seq) not in event.rounds:
                    event.rounds.append((p, seq))

    def _refresh(self, fam: Family, event: EventState, now: float) -> None:
        self.changed.add(event.serial)
        current = [
            p for p in event.probes if fam.claim_of(p) == event.serial and fam.affected_now(p)
        ]
        population = fam.population(event.scope_key)
        event.affected = len(current)
        event.total = len(self._scopes.members[event.scope_key])
        if current:
            event.start = statistics.median(fam.start_of(p) for p in current)
            evidence = sum(min(fam.evidence_of(p), self._settings.max_run) for p in current)
            share = min(1.0, len(current) / population) if population else 1.0
            event.confidence = round(share * (1 - 0.5 ** (evidence / 2)), 2)
        if population and len(current) / population < self._settings.keep_fraction:
            ends = [
                e for p in event.probes if (e := fam.end_of(p)) is not None and e >= event.start
            ]
            self.close(event, statistics.median(ends) if ends else now)

    def _wider(self, new: int, old: int) -> bool:
        """Every probe of scope `old` is in scope `new`."""
        probes = self._state.probes
        return all(new in probes[p].keys for p in self._scopes.members[old])

    # -- output ----------------------------------------------------------------

    def to_event(self, e: EventState) -> Event:
        probes = self._state.probes
        return Event(
            id=e.id,
            kind=EventKind(e.kind),
            state="open" if e.open else "closed",
            scope=to_scope(self._scopes.keys[e.scope_key]),
            start=round(e.start, 3),
            end=None if e.end is None else round(e.end, 3),
            platform=e.platform,
            method=e.method_name,
            affected=e.affected,
            total=e.total,
            confidence=e.confidence,
            first_emitted=e.first_emitted,
            updated=e.updated,
            evidence=Evidence(
                probes=tuple(sorted(probes[p].id for p in e.probes)),
                rounds=tuple((probes[p].id, seq) for p, seq in e.rounds),
                note=e.note,
            ),
        )

    def take_changes(self, now: float) -> list[Event]:
        """The events whose visible state changed since the previous call."""
        out = []
        for serial in sorted(self.changed):
            e = self.by_serial[serial]
            current = self.to_event(e)
            before = self._emitted.get(serial)
            if before is not None and _same(before, current):
                continue
            if before is not None:
                e.updated = now
                current = self.to_event(e)
            self._emitted[serial] = current
            out.append(current)
        self.changed.clear()
        return out

    def forget_before(self, horizon: float) -> None:
        """Drop closed events that ended before `horizon`."""
        keep = [e for e in self._state.events if e.open or (e.end or 0.0) >= horizon]
        if len(keep) == len(self._state.events):
            return
        self._state.events[:] = keep
        alive = {e.serial for e in keep}
        for serial in list(self.by_serial):
            if serial not in alive:
                del self.by_serial[serial]
                self._emitted.pop(serial, None)


def _same(a: Event, b: Event) -> bool:
    """Equal but for the update time and the evidence rounds (they grow every round)."""
    return msgspec.structs.replace(
        a, updated=0.0, evidence=msgspec.structs.replace(a.evidence, rounds=())
    ) == msgspec.structs.replace(
        b, updated=0.0, evidence=msgspec.structs.replace(b.evidence, rounds=())
    )
