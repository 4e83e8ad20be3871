"""Time within a round: every measured step records `t0` and `t` from the round's start."""

import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RoundClock:
    start: float = field(default_factory=time.monotonic)  # CLOCK_MONOTONIC at round start

    def now(self) -> float:
        """Seconds since the round started, to a tenth of a millisecond."""
        return round(time.monotonic() - self.start, 4)
