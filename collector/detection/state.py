"""The detector's working state: mutable by design, encoded whole by `Detector.snapshot`.

Only primary facts live here; the indexes built from them (who is failing what,
scope populations) are rebuilt on restore (`indexes.py`).
"""

import math

import msgspec

# Round classes, from the anchors (signals.round_class).
OK, FULL, INTERNATIONAL, UPLINK = 0, 1, 2, 3

NEVER = 0.0


class TargetState(msgspec.Struct, array_like=True, gc=False):
    """One probe's view of one target: the current failing run and throughput baseline."""

    seen: float = NEVER  # placed time of the newest round applied
    seq: int = 0  # that round's seq
    fails: int = 0  # consecutive failing rounds
    method: int = 0  # signals.METHODS index of the failing run, 0 when not failing
    first_fail: float = NEVER
    last_ok: float = NEVER
    last_fail: float = NEVER
    recovered: float = NEVER  # estimated end of the latest failing run
    claim: int = 0  # serial of the event that explains the current failing run
    base: float = 0.0  # EWMA of log(kbps) over throughput samples that were not slow
    base_n: int = 0
    slow: int = 0  # consecutive slow throughput samples
    first_slow: float = NEVER
    last_slow: float = NEVER
    last_fast: float = NEVER
    slow_recovered: float = NEVER
    slow_claim: int = 0


class Episode(msgspec.Struct, array_like=True):
    """One silence of one probe: from the last round delivered to the first message after."""

    lo: float  # placed time of the newest round delivered before the silence
    lo_rx: float  # when the last message before it arrived
    since: float  # estimated start
    noticed: float  # when the detector first knew (deadline passed or Last Will)
    back: float = NEVER  # arrival time of the first message after it; NEVER: still silent
    event: int = 0  # the event that explains it
    marks: list[tuple[float, int, int]] = []  # (placed, round class, seq) measured meanwhile


class ProbeState(msgspec.Struct):
    id: str
    country: str
    region: str
    asn: int
    access: str
    network: str
    control: bool
    keys: list[int]  # scope keys the probe belongs to, widest first (none for a control)
    interval: float  # learned round interval
    deadline: float  # arrival time after which the probe is late
    boots: dict[str, float] = {}  # boot id → wall-clock minus monotonic clock
    last_seq: int = 0
    last_placed: float = NEVER  # placed time of the newest round
    last_rx: float = NEVER  # arrival of the newest message sent live
    min_lag: float = math.inf  # the least time from measurement to arrival of a live round
    lwt_at: float = NEVER  # arrival of an offline status not yet superseded
    silent: bool = False
    impossible: bool = False  # the newest round's wall-clock time was impossible
    noise: float = 0.0  # share of targets failing at random (new runs) per round, averaged
    noise_n: int = 0
    targets: list[TargetState] = []
    all_slow: int = 0  # consecutive rounds where most targets were slow
    first_all_slow: float = NEVER
    last_all_slow: float = NEVER
    all_fast: float = NEVER
    all_recovered: float = NEVER
    all_claim: int = 0
    episodes: list[Episode] = []

    def episode(self) -> Episode | None:
        """The current silence, if the probe is silent."""
        if self.episodes and self.episodes[-1].back == NEVER:
            return self.episodes[-1]
        return None


class EventState(msgspec.Struct):
    serial: int
    id: str
    kind: str
    family: str  # "fail", "slow", "all_slow" or "silence"
    target: int  # target index, -1 when none
    method: int  # family-specific method code
    scope_key: int
    start: float
    first_emitted: float
    updated: float
    end: float | None = None
    open: bool = True
    provisional: bool = False  # a lone probe's silence, until late data tells
    probes: list[int] = []  # every probe it ever explained
    affected: int = 0
    total: int = 0
    confidence: float = 0.0
    method_name: str | None = None
    platform: str | None = None
    note: str = ""
    rounds: list[tuple[int, int]] = []  # (probe index, seq) evidence, capped


class DetectorState(msgspec.Struct):
    probe_ids: list[str] = []
    probes: list[ProbeState] = []
    target_ids: list[str] = []
    scope_keys: list[tuple[str | None, str | None, int | None, str | None, str | None]] = []
    events: list[EventState] = []
    next_serial: int = 1
    last_now: float = NEVER
    restored: bool = False
