"""The detector's tunables, validated at start-up (docs/detection.md explains each)."""

import msgspec


class DetectionSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    round_s: float = 300.0  # first guess of a probe's interval, until learnt (probe default)
    silence_grace: float = 0.5  # rounds a probe may be late before it counts as silent
    open_evidence: int = 3  # failing rounds, summed over a scope's probes, that open an event
    lone_evidence: int = 4  # ... when the scope is one probe: a single probe's flaps are common
    max_run: int = 4  # one probe's contribution to that sum is capped
    noisy_share: float = 0.02  # a probe failing this share of targets at random is noisy:
    noisy_weight: float = 0.5  # ... each of its failing rounds then counts this much
    wider_cost: float = 2.0  # an unaffected probe in a scope weighs this many affected ones
    keep_fraction: float = 0.5  # an open event stays while this share of its scope is affected
    sync_rounds: float = 2.0  # silences that began this many rounds apart are simultaneous
    lone_settle: float = 0.8  # share of a country's probes heard after a lone probe fell silent
    throttle_ratio: float = 0.35  # throughput under this share of the probe's own baseline
    baseline_samples: int = 3  # throughput samples before a baseline is used
    baseline_alpha: float = 0.2  # weight of a new sample in the throughput baseline (EWMA)
    all_traffic_share: float = 0.6  # share of a probe's measured targets slow: all traffic
    all_traffic_min: int = 3  # ... and at least this many of them
    max_clock_error_s: float = 30.0  # a wall clock further off than this is not used
    retention_s: float = 7 * 86400.0  # closed events and silences are kept this long
    evaluate_interval_s: float = 10.0  # how often the collector asks for changed events
    # No probe heard from this long, in a fleet of two countries or more (or with a
    # control): the collector's own outage, not theirs (docs/detection.md).
    fleet_quiet_s: float = 60.0

    def __post_init__(self) -> None:
        positive = {
            "round_s": self.round_s,
            "silence_grace": self.silence_grace,
            "wider_cost": self.wider_cost,
            "sync_rounds": self.sync_rounds,
            "throttle_ratio": self.throttle_ratio,
            "baseline_alpha": self.baseline_alpha,
            "max_clock_error_s": self.max_clock_error_s,
            "retention_s": self.retention_s,
            "evaluate_interval_s": self.evaluate_interval_s,
            "fleet_quiet_s": self.fleet_quiet_s,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be > 0, not {value}")
        for name, count in {
            "open_evidence": self.open_evidence,
            "lone_evidence": self.lone_evidence,
            "max_run": self.max_run,
            "baseline_samples": self.baseline_samples,
            "all_traffic_min": self.all_traffic_min,
        }.items():
            if count < 1:
                raise ValueError(f"{name} must be >= 1, not {count}")
        for name, share in {
            "keep_fraction": self.keep_fraction,
            "noisy_share": self.noisy_share,
            "noisy_weight": self.noisy_weight,
            "lone_settle": self.lone_settle,
            "all_traffic_share": self.all_traffic_share,
        }.items():
            if not 0 < share <= 1:
                raise ValueError(f"{name} must be in (0, 1], not {share}")
        if self.throttle_ratio >= 1:
            raise ValueError(f"throttle_ratio must be < 1, not {self.throttle_ratio}")
