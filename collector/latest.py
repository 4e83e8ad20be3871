"""The latest word from each probe, kept in memory for the status page and the API."""

from dataclasses import dataclass, field

from balise.model.messages import Heartbeat, ProbeMeta, Round, Status


@dataclass(slots=True)
class ProbeView:
    probe: str
    meta: ProbeMeta | None = None
    state: str = "unknown"  # online | offline | unknown
    last_seq: int = 0
    last_round_at: float | None = None  # measurement time of the newest round
    last_seen: float | None = None  # when anything last arrived from it
    backlog: int = 0
    clock_synced: bool | None = None
    # target id → (failed layer, failure); None, None when the whole chain succeeded
    targets: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    anchors: dict[str, str | None] = field(default_factory=dict)  # anchor id → failure


class LatestView:
    """An observer of ingest: newest round (by measurement time), status and heartbeat."""

    def __init__(self) -> None:
        self.probes: dict[str, ProbeView] = {}

    def _view(self, probe: str) -> ProbeView:
        view = self.probes.get(probe)
        if view is None:
            view = self.probes[probe] = ProbeView(probe)
        return view

    def observe_round(self, round_: Round, received_at: float) -> None:
        view = self._view(round_.probe)
        view.last_seen = received_at
        view.meta = round_.meta
        view.clock_synced = round_.clock.synced
        if view.last_round_at is not None and round_.started < view.last_round_at:
            return  # a replayed round is history, not news
        view.state = "online"
        view.last_seq = round_.seq
        view.last_round_at = round_.started
        view.targets = {t.target: (t.failed_layer, t.failure) for t in round_.targets}
        view.anchors = {a.anchor: a.failure for a in round_.anchors}

    def observe_status(self, status: Status, received_at: float) -> None:
        view = self._view(status.probe)
        view.state = status.state
        view.last_seen = received_at

    def observe_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None:
        view = self._view(heartbeat.probe)
        view.last_seen = received_at
        view.backlog = heartbeat.backlog
        view.clock_synced = heartbeat.clock_synced
