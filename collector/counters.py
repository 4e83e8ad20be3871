"""What the collector has seen and done, as plain numbers for /health and the logs."""

from dataclasses import asdict, dataclass, field


@dataclass(slots=True)
class Counters:
    received: int = 0  # messages handed to ingest
    rejected: dict[str, int] = field(default_factory=dict)  # by reason
    duplicates: int = 0  # rounds already seen, dropped
    clock_suspect: int = 0  # rounds kept, placed by their boot's clock, not their wall clock
    clock_deferred: int = 0  # late rounds left with the probe until their boot is anchored
    observer_errors: int = 0  # an observer (the detector) raised on a message
    buffered: int = 0  # rounds and statuses waiting for the store
    spilled: int = 0  # messages in the disk buffer, acknowledged, waiting for the store
    stored_rounds: int = 0
    stored_results: int = 0  # target results in the stored rounds
    stored_points: int = 0  # points (InfluxDB) or rows (SQLite)
    store_failures: int = 0  # failed write attempts; each is retried
    store_ok: bool = True  # the latest write attempt succeeded
    store_dropped: int = 0  # messages the store refused for good (logged)
    last_store_error: str | None = None
    last_store_error_at: float | None = None
    mqtt_connected: bool = False
    events_emitted: int = 0  # changed events the detector reported
    delivered: dict[str, int] = field(default_factory=dict)  # events, by output
    delivery_failures: dict[str, int] = field(default_factory=dict)  # attempts, by output
    delivery_dropped: dict[str, int] = field(default_factory=dict)  # events given up, by output

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def snapshot(self) -> dict[str, object]:
        return asdict(self)
