"""Traceroute: where on the path a failing target's packets stop.

TCP SYN probes to the target's port with growing TTL, crafted with scapy, which is
imported only inside the backend's traceroute (the probe runs without it). Crafting
raw packets needs root: the chain asks `backend.can_traceroute()` first and skips
the step when it cannot run, and `run` raises `TracerouteUnavailableError` if called
anyway. The chain traces a target at most once per `every_s` (`TracerouteLimiter`).
"""

import asyncio
from dataclasses import dataclass, field

from balise.model.results import TracerouteResult
from probe.backend import Backend
from probe.classify import classify
from probe.measurements.timing import RoundClock


class TracerouteUnavailableError(Exception):
    """This probe cannot send raw packets (not root, or scapy absent)."""


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    address: str
    port: int
    max_hops: int
    timeout: float  # how long to wait for the replies to the probes, sent all at once


async def run(config: Config, backend: Backend) -> TracerouteResult:
    if not backend.can_traceroute():
        raise TracerouteUnavailableError("traceroute needs root and scapy (balise[raw])")
    t0 = config.clock.now()
    try:
        async with asyncio.timeout(config.timeout + 5):  # scapy's own timeout, plus start-up
            hops = await backend.traceroute(
                config.address, config.port, max_hops=config.max_hops, wait_s=config.timeout
            )
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        return TracerouteResult(
            t0=t0,
            t=config.clock.now(),
            failure=classify(exc),
            address=config.address,
            port=config.port,
        )
    return TracerouteResult(
        t0=t0, t=config.clock.now(), address=config.address, port=config.port, hops=hops
    )


@dataclass(slots=True)
class TracerouteLimiter:
    """Allows one traceroute per target per `every_s`; owned by whoever runs the rounds."""

    every_s: float
    _last: dict[str, float] = field(default_factory=dict)

    def claim(self, target: str, now: float) -> bool:
        """True, and remember `now`, when `target` may be traced at monotonic time `now`."""
        last = self._last.get(target)
        if last is not None and now - last < self.every_s:
            return False
        self._last[target] = now
        return True
