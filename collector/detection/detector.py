"""The detector: messages in, events out (docs/detection.md).

Time is always passed in (`received_at`, `now`), never read, so the simulator can
run it in virtual time. Observing a round costs O(targets); `evaluate` works on
what changed since its previous call.
"""

import heapq
import math
from typing import Self

import msgspec

from balise.model.events import Event
from balise.model.messages import Heartbeat, ProbeMeta, Round, Status
from collector.detection import failures, silence, throttling
from collector.detection.book import Book
from collector.detection.scopes import ScopeIndex, probe_keys
from collector.detection.settings import DetectionSettings
from collector.detection.signals import METHOD_OF_LAYER, placed_time, round_class
from collector.detection.state import (
    NEVER,
    OK,
    DetectorState,
    Episode,
    ProbeState,
    TargetState,
)
from collector.timestamps import clock_suspect

MAX_BOOTS = 4  # boot offsets remembered per probe
MAX_EPISODES = 16  # silences remembered per probe
MAX_MARKS = 512  # late rounds remembered per silence
INTERVAL_ALPHA = 0.2
LEARN_FIRST = 3  # the first interval samples replace the guess outright
NOISE_ALPHA = 0.05  # weight of one round in a probe's noise average

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(DetectorState).decode


class Detector:
    def __init__(
        self, settings: DetectionSettings | None = None, *, state: DetectorState | None = None
    ) -> None:
        self.settings = settings or DetectionSettings()
        self.state = state or DetectorState()
        self.scopes = ScopeIndex(self.state.scope_keys)
        self.probe_index = {p: i for i, p in enumerate(self.state.probe_ids)}
        self.target_index = {t: i for i, t in enumerate(self.state.target_ids)}
        self.book = Book(self.state, self.scopes, self.settings)
        # Indexes rebuilt from the state: who fails or is slow on what, who is silent.
        self.failing: dict[int, dict[int, None]] = {}
        self.slow: dict[int, dict[int, None]] = {}
        self.all_slow: dict[int, None] = {}
        self.silent: dict[int, None] = {}
        self.controls: list[int] = []
        self.dirty_fail: set[int] = set()
        self.dirty_slow: set[int] = set()
        self.dirty_all_slow = False
        self.dirty_silence = False
        self.refine: set[int] = set()  # events whose late data changed
        self.silence_left: list[int] = []  # silent probes no shutdown explains (yet)
        self._deadlines: list[tuple[float, int]] = []
        self._interval_n: dict[int, int] = {}
        # The least extra delay of a live round since the last evaluation: how far behind
        # its probes the collector is (a backlog at the broker, or ingest slower than them).
        self._least_delay = math.inf
        self._behind = 0.0  # the latest such figure; kept while no round comes
        self._heard_at = NEVER  # the newest arrival from any probe
        self._vantages: int | None = None  # countries of the fleet, controls one more; None: stale
        for i, p in enumerate(self.state.probes):
            self._index_probe(i, p)

    # -- the observer protocol -------------------------------------------------

    def observe_round(self, round_: Round, received_at: float) -> None:
        i = self._probe(round_.probe, round_.meta)
        p = self.state.probes[i]
        live = not round_.late
        if live:
            offset = received_at - round_.clock.mono
            known = p.boots.get(round_.clock.boot_id)
            if known is None or offset < known:
                p.boots[round_.clock.boot_id] = offset
                while len(p.boots) > MAX_BOOTS:
                    del p.boots[next(iter(p.boots))]
        placed, _ = placed_time(round_, received_at, p.boots, self.settings.max_clock_error_s)
        if live and placed is not None:
            lag = received_at - placed
            p.min_lag = min(p.min_lag, lag)
            self._least_delay = min(self._least_delay, lag - p.min_lag)
        p.impossible = clock_suspect(round_.started, received_at)
        cls = round_class(round_.anchors, round_.targets)
        self._heard(i, p, received_at)
        if placed is None:
            return
        self._mark(p, placed, cls, round_.seq)
        if round_.seq > p.last_seq:
            if live and p.last_placed != NEVER and p.last_seq:
                self._learn_interval(i, p, (placed - p.last_placed) / (round_.seq - p.last_seq))
            p.last_seq = round_.seq
            p.last_placed = max(p.last_placed, placed)
        if cls == OK:
            self._apply_targets(i, p, round_, placed)

    def observe_status(self, status: Status, received_at: float) -> None:
        i = self.probe_index.get(status.probe)
        if i is None:
            return  # nothing is known of a probe before its first round
        p = self.state.probes[i]
        if status.state == "online":
            self._heard(i, p, received_at)
        elif received_at >= p.last_rx:
            p.lwt_at = received_at
            p.deadline = min(p.deadline, received_at)
            heapq.heappush(self._deadlines, (p.deadline, i))

    def observe_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None:
        i = self.probe_index.get(heartbeat.probe)
        if i is not None:
            self._heard(i, self.state.probes[i], received_at)

    # -- evaluation --------------------------------------------------------------

    def evaluate(self, now: float) -> list[Event]:
        if self.state.restored:
            # The collector was away: nobody's silence during that time is evidence.
            for i, p in enumerate(self.state.probes):
                if not p.silent:
                    p.deadline = max(
                        p.deadline, now + p.interval * (1 + self.settings.silence_grace)
                    )
                    heapq.heappush(self._deadlines, (p.deadline, i))
            self.state.restored = False
        # Every probe's rounds arrive `behind` late: its silence is judged that much later,
        # or an overloaded collector would see its whole fleet fall silent.
        if self._least_delay != math.inf:
            self._behind = self._least_delay
            self._least_delay = math.inf
        horizon = now - self._behind
        if self._heard_at != NEVER and self._tells_own_outage():
            # Past fleet_quiet_s without a word from any probe the collector is blind:
            # silences from then on wait (_heard gives fresh deadlines when it hears again).
            horizon = min(horizon, self._heard_at + self.settings.fleet_quiet_s)
        self._expire(horizon)
        failures.evaluate(self, now)
        throttling.evaluate(self, now)
        silence.evaluate(self, now)
        self.state.last_now = now
        self.book.forget_before(now - self.settings.retention_s)
        return self.book.take_changes(now)

    def was_away(self) -> None:
        """The collector heard nothing for a while (restarted, cut from its broker, or deaf
        to the whole fleet): nobody's silence during that time is evidence; the next
        evaluation gives every probe a fresh deadline."""
        self.state.restored = True

    def events(self) -> list[Event]:
        return [self.book.to_event(e) for e in self.state.events]

    # -- durability ------------------------------------------------------------

    def snapshot(self) -> bytes:
        return _encode(self.state)

    @classmethod
    def restore(cls, data: bytes, settings: DetectionSettings | None = None) -> Self:
        detector = cls(settings, state=_decode(data))
        detector.was_away()
        return detector

    # -- internals ---------------------------------------------------------------

    def keys_of(self, i: int) -> list[int]:
        return self.state.probes[i].keys

    def silent_per_key(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        probes = self.state.probes
        for i in self.silent:
            for k in probes[i].keys:
                counts[k] = counts.get(k, 0) + 1
        return counts

    def target_id(self, target: str) -> int:
        found = self.target_index.get(target)
        if found is None:
            found = self.target_index[target] = len(self.state.target_ids)
            self.state.target_ids.append(target)
        return found

    def _probe(self, probe_id: str, meta: ProbeMeta) -> int:
        i = self.probe_index.get(probe_id)
        if i is not None:
            p = self.state.probes[i]
            if (p.country, p.region, p.asn, p.access, p.network, p.control) == (
                meta.country,
                meta.region,
                meta.asn,
                meta.access.value,
                meta.network,
                meta.control,
            ):
                return i
            self.scopes.remove(i, p.keys)
            if p.control:
                self.controls.remove(i)
            self.silent.pop(i, None)
        else:
            i = self.probe_index[probe_id] = len(self.state.probes)
            self.state.probe_ids.append(probe_id)
            p = ProbeState(
                id=probe_id,
                country="",
                region="",
                asn=0,
                access="",
                network="",
                control=False,
                keys=[],
                interval=self.settings.round_s,
                deadline=math.inf,
            )
            self.state.probes.append(p)
        p.country, p.region, p.asn = meta.country, meta.region, meta.asn
        p.access, p.network, p.control = meta.access.value, meta.network, meta.control
        p.keys = (
            []
            if meta.control
            else [
                self.scopes.intern(k)
                for k in probe_keys(p.country, p.region, p.asn, p.access, probe_id)
            ]
        )
        self._index_probe(i, p)
        return i

    def _tells_own_outage(self) -> bool:
        """Can the fleet tell the collector's outage from its probes'? Only from two
        countries or more (or with a control): one country's shutdown silences them all."""
        if self._vantages is None:
            self._vantages = len({"" if p.control else p.country for p in self.state.probes})
        return self._vantages >= 2  # noqa: PLR2004 - two places, by definition

    def _index_probe(self, i: int, p: ProbeState) -> None:
        self._vantages = None
        self.scopes.add(i, p.keys)
        if p.control:
            self.controls.append(i)
        elif p.silent:
            self.silent[i] = None
        if p.deadline != math.inf and not p.silent:
            heapq.heappush(self._deadlines, (p.deadline, i))
        for t, ts in enumerate(p.targets):
            if ts.fails and not p.control:
                self.failing.setdefault(t, {})[i] = None
                self.dirty_fail.add(t)
            if ts.slow and not p.control:
                self.slow.setdefault(t, {})[i] = None
                self.dirty_slow.add(t)
        if p.all_slow and not p.control:
            self.all_slow[i] = None
            self.dirty_all_slow = True

    def _heard(self, i: int, p: ProbeState, received_at: float) -> None:
        heard_at = self._heard_at
        if received_at > heard_at:
            quiet = heard_at != NEVER and received_at - heard_at > self.settings.fleet_quiet_s
            if quiet and self._tells_own_outage():
                self.was_away()  # every country unheard at once: the collector's outage
            self._heard_at = received_at
        if received_at < p.last_rx:
            return
        p.last_rx = received_at
        if p.lwt_at != NEVER and p.lwt_at <= received_at:
            p.lwt_at = NEVER
        p.deadline = received_at + p.interval * (1 + self.settings.silence_grace)
        heapq.heappush(self._deadlines, (p.deadline, i))
        if p.silent:
            p.silent = False
            self.silent.pop(i, None)
            episode = p.episodes[-1]
            episode.back = received_at
            self.dirty_silence = True
            if episode.event:
                self.refine.add(episode.event)

    def _learn_interval(self, i: int, p: ProbeState, sample: float) -> None:
        if not 0 < sample < 10 * p.interval:
            return
        n = self._interval_n.get(i, 0)
        p.interval = (
            sample if n < LEARN_FIRST else p.interval + INTERVAL_ALPHA * (sample - p.interval)
        )
        self._interval_n[i] = n + 1

    def _expire(self, now: float) -> None:
        """Probes whose deadline passed become silent: a new episode each time."""
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, i = heapq.heappop(heap)
            p = self.state.probes[i]
            if p.silent or deadline != p.deadline:
                continue
            p.silent = True
            hi = p.last_rx + p.interval
            if p.lwt_at != NEVER:
                hi = min(hi, p.lwt_at)
            p.episodes.append(
                Episode(
                    lo=p.last_placed, lo_rx=p.last_rx, since=(p.last_rx + hi) / 2, noticed=deadline
                )
            )
            del p.episodes[:-MAX_EPISODES]
            if not p.control:
                self.silent[i] = None
                self.dirty_silence = True

    def _mark(self, p: ProbeState, placed: float, cls: int, seq: int) -> None:
        """File a round measured during (or just after) a silence under that silence."""
        for episode in reversed(p.episodes):
            if placed <= episode.lo:
                continue
            end = episode.back
            if end != NEVER and placed > end + 2 * p.interval:
                return
            if len(episode.marks) < MAX_MARKS:
                episode.marks.append((placed, cls, seq))
                if episode.event:
                    self.refine.add(episode.event)
            return

    def _apply_targets(self, i: int, p: ProbeState, round_: Round, placed: float) -> None:
        control = p.control
        measured = slow_now = fresh_failures = 0
        for result in round_.targets:
            t = self.target_id(result.target)
            states = p.targets
            while len(states) <= t:
                states.append(TargetState())
            ts = states[t]
            if placed <= ts.seen:
                continue  # an older round replayed late: the newer one already spoke
            ts.seen = placed
            ts.seq = round_.seq
            method = METHOD_OF_LAYER[result.failed_layer]
            if method:
                self._failed(i, t, ts, method, placed, control=control)
                fresh_failures += ts.fails == 1
                continue
            if ts.fails:
                ts.recovered = (ts.last_fail + placed) / 2
                ts.fails = ts.method = ts.claim = 0
                self.failing.get(t, {}).pop(i, None)
                self.dirty_fail.add(t)
            ts.last_ok = placed
            tp = result.throughput
            if tp is None or tp.failure is not None or not tp.kbps or tp.kbps <= 0:
                continue
            measured += 1
            slow_now += self._throughput(i, t, ts, math.log(tp.kbps), placed, control=control)
        self._all_traffic(i, p, measured, slow_now, placed)
        if round_.targets:
            p.noise_n += 1
            alpha = max(NOISE_ALPHA, 1 / p.noise_n)
            p.noise += alpha * (fresh_failures / len(round_.targets) - p.noise)

    def _throughput(
        self, i: int, t: int, ts: TargetState, level: float, placed: float, *, control: bool
    ) -> bool:
        """One throughput sample against the probe's own baseline; True when slow."""
        settings = self.settings
        if ts.base_n >= settings.baseline_samples and level < ts.base + math.log(
            settings.throttle_ratio
        ):
            ts.slow += 1
            ts.last_slow = placed
            if ts.slow == 1:
                ts.first_slow = placed
                if not control:
                    self.slow.setdefault(t, {})[i] = None
            self.dirty_slow.add(t)
            return True  # a slow sample never moves the baseline: throttling is not learnt
        if ts.slow:
            ts.slow_recovered = (ts.last_slow + placed) / 2
            ts.slow = ts.slow_claim = 0
            self.slow.get(t, {}).pop(i, None)
            self.dirty_slow.add(t)
        ts.base = level if ts.base_n == 0 else ts.base + settings.baseline_alpha * (level - ts.base)
        ts.base_n += 1
        ts.last_fast = placed
        return False

    def _failed(
        self, i: int, t: int, ts: TargetState, method: int, placed: float, *, control: bool
    ) -> None:
        if ts.fails and ts.method != method and ts.fails > 1:
            return  # one round failing elsewhere in the chain neither confirms nor ends a run
        if ts.fails == 0 or ts.method != method:
            ts.fails = 0
            ts.first_fail = placed
            ts.method = method
            ts.claim = 0
            if not control:
                self.failing.setdefault(t, {})[i] = None
        ts.fails += 1
        ts.last_fail = placed
        self.dirty_fail.add(t)

    def _all_traffic(
        self, i: int, p: ProbeState, measured: int, slow_now: int, placed: float
    ) -> None:
        settings = self.settings
        if measured == 0:
            return
        if (
            slow_now >= settings.all_traffic_min
            and slow_now >= settings.all_traffic_share * measured
        ):
            p.all_slow += 1
            p.last_all_slow = placed
            if p.all_slow == 1:
                p.first_all_slow = placed
                if not p.control:
                    self.all_slow[i] = None
            self.dirty_all_slow = True
        elif p.all_slow:
            p.all_recovered = (p.last_all_slow + placed) / 2
            p.all_slow = p.all_claim = 0
            self.all_slow.pop(i, None)
            self.dirty_all_slow = True
            # Targets still slow (this round straddles the throttle's end) owe their slow
            # runs to the all-traffic throttle: only what follows is a platform's own.
            for ts in p.targets:
                if ts.slow:
                    ts.slow = 1
                    ts.first_slow = ts.last_slow
        else:
            p.all_fast = placed
