"""Adapters that let the event book read each kind of evidence the same way."""

from typing import TYPE_CHECKING

from balise.model.events import EventKind
from collector.detection.state import NEVER, TargetState

if TYPE_CHECKING:
    from collector.detection.detector import Detector

EMPTY = TargetState()


def run_start(first: float, last_ok: float, interval: float) -> float:
    """Halfway between the last good round and the first bad one, when both are known."""
    if last_ok != NEVER and first - last_ok <= 3 * interval:
        return (first + last_ok) / 2
    return first - interval / 2


class _Base:
    kind: EventKind
    family: str
    target: int
    method: int

    def __init__(self, d: "Detector", silent_per_key: dict[int, int]) -> None:
        self._d = d
        self._probes = d.state.probes
        self._silent_per_key = silent_per_key

    def population(self, key: int) -> int:
        """Probes of the scope that are not silent (controls are in no scope)."""
        return len(self._d.scopes.members[key]) - self._silent_per_key.get(key, 0)

    def _ts(self, probe: int) -> TargetState:
        states = self._probes[probe].targets
        return states[self.target] if self.target < len(states) else EMPTY


class Failing(_Base):
    """Probes whose rounds fail a target (at one method, or any for an outage)."""

    family = "fail"

    def __init__(
        self,
        d: "Detector",
        silent_per_key: dict[int, int],
        target: int,
        method: int,
        kind: EventKind,
    ) -> None:
        super().__init__(d, silent_per_key)
        self.kind, self.target, self.method = kind, target, method

    def affected_now(self, probe: int) -> bool:
        ts = self._ts(probe)
        return ts.fails > 0 and self.method in (0, ts.method) and not self._probes[probe].silent

    def claim_of(self, probe: int) -> int:
        return self._ts(probe).claim

    def set_claim(self, probe: int, serial: int) -> None:
        self._ts(probe).claim = serial

    def start_of(self, probe: int) -> float:
        ts = self._ts(probe)
        return run_start(ts.first_fail, ts.last_ok, self._probes[probe].interval)

    def end_of(self, probe: int) -> float | None:
        ts = self._ts(probe)
        return ts.recovered if ts.fails == 0 and ts.recovered != NEVER else None

    def evidence_of(self, probe: int) -> int:
        return self._ts(probe).fails

    def seq_of(self, probe: int) -> int:
        return self._ts(probe).seq


class Slow(_Base):
    """Probes whose throughput to a target is far under their own baseline."""

    family = "slow"
    kind = EventKind.THROTTLING
    method = 0

    def __init__(self, d: "Detector", silent_per_key: dict[int, int], target: int) -> None:
        super().__init__(d, silent_per_key)
        self.target = target

    def affected_now(self, probe: int) -> bool:
        p = self._probes[probe]
        return self._ts(probe).slow > 0 and not p.silent and p.all_slow == 0

    def claim_of(self, probe: int) -> int:
        return self._ts(probe).slow_claim

    def set_claim(self, probe: int, serial: int) -> None:
        self._ts(probe).slow_claim = serial

    def start_of(self, probe: int) -> float:
        ts = self._ts(probe)
        return run_start(ts.first_slow, ts.last_fast, self._probes[probe].interval)

    def end_of(self, probe: int) -> float | None:
        ts = self._ts(probe)
        return ts.slow_recovered if ts.slow == 0 and ts.slow_recovered != NEVER else None

    def evidence_of(self, probe: int) -> int:
        return self._ts(probe).slow

    def seq_of(self, probe: int) -> int:
        return self._ts(probe).seq


class AllSlow(_Base):
    """Probes where most targets are slow at once: all traffic is throttled."""

    family = "all_slow"
    kind = EventKind.THROTTLING
    target = -1
    method = 0

    def affected_now(self, probe: int) -> bool:
        p = self._probes[probe]
        return p.all_slow > 0 and not p.silent

    def claim_of(self, probe: int) -> int:
        return self._probes[probe].all_claim

    def set_claim(self, probe: int, serial: int) -> None:
        self._probes[probe].all_claim = serial

    def start_of(self, probe: int) -> float:
        p = self._probes[probe]
        return run_start(p.first_all_slow, p.all_fast, p.interval)

    def end_of(self, probe: int) -> float | None:
        p = self._probes[probe]
        return p.all_recovered if p.all_slow == 0 and p.all_recovered != NEVER else None

    def evidence_of(self, probe: int) -> int:
        return self._probes[probe].all_slow

    def seq_of(self, probe: int) -> int:
        return self._probes[probe].last_seq


class Silent(_Base):
    """Probes that stopped delivering: a network shutdown, or one probe offline."""

    family = "silence"
    target = -1
    method = 0

    def __init__(
        self,
        d: "Detector",
        silent_per_key: dict[int, int],
        kind: EventKind,
        excluded: dict[int, int],
    ) -> None:
        super().__init__(d, silent_per_key)
        self.kind = kind
        self._excluded = excluded  # per key: probes explained by a probe_offline event

    def population(self, key: int) -> int:
        return len(self._d.scopes.members[key]) - self._excluded.get(key, 0)

    def affected_now(self, probe: int) -> bool:
        return self._probes[probe].silent

    def claim_of(self, probe: int) -> int:
        episode = self._probes[probe].episode()
        return episode.event if episode else 0

    def set_claim(self, probe: int, serial: int) -> None:
        episode = self._probes[probe].episode()
        if episode is not None:
            episode.event = serial

    def start_of(self, probe: int) -> float:
        episode = self._probes[probe].episode()
        return episode.since if episode else NEVER

    def end_of(self, probe: int) -> float | None:
        del probe
        return None  # silences end through `silence.finish`, from late data

    def evidence_of(self, probe: int) -> int:
        del probe
        return 1

    def seq_of(self, probe: int) -> int:
        del probe
        return 0
