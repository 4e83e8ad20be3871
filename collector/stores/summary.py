"""The few numbers both stores keep of one target's chain."""

from collections.abc import Iterable
from typing import Protocol

from balise.model.results import TargetResult


class _Timed(Protocol):
    @property
    def t0(self) -> float: ...
    @property
    def t(self) -> float: ...


def duration_ms(t0: float, t: float) -> float:
    return round((t - t0) * 1000.0, 3)


def first_ms(steps: Iterable[_Timed]) -> float | None:
    """How long a layer's first step took: the system resolver's query, the first
    address's connect, the handshake with the real SNI, the HTTPS GET."""
    first = next(iter(steps), None)
    return None if first is None else duration_ms(first.t0, first.t)


def http_status(result: TargetResult) -> int | None:
    return next((h.status for h in result.http if h.status is not None), None)


def chain_ok(result: TargetResult) -> bool:
    """The whole chain was measured and no layer failed."""
    return result.failed_layer is None and not result.truncated
