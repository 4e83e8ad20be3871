"""The one place reconnect delays are computed: capped exponential with full jitter."""

import random
from collections.abc import Iterator


def delays(
    *, first: float = 0.5, cap: float = 60.0, factor: float = 2.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Yield an endless sequence of delays: uniform in [0, min(cap, first * factor**n)]."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    ceiling = first
    while True:
        yield rng.uniform(0, ceiling)
        ceiling = min(cap, ceiling * factor)
