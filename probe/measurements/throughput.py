"""Throughput: a timed download of a sized object, capped in bytes and in time.

The download stops without failing at either cap and reports the rate it saw; it
follows no redirect (catalog URLs point at the object itself).
"""

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from balise.model import failures
from balise.model.results import ThroughputResult
from probe.backend import Backend
from probe.classify import classify
from probe.measurements.dns import lookup
from probe.measurements.timing import RoundClock

_OK = range(200, 300)


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    url: str
    timeout: float  # looking up and connecting; the download then has max_seconds
    max_bytes: int
    max_seconds: float

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {self.url!r}")


async def run(config: Config, backend: Backend) -> ThroughputResult:
    t0 = config.clock.now()
    try:
        async with asyncio.timeout(config.timeout + config.max_seconds):
            address = await lookup(str(urlsplit(config.url).hostname), backend)
            fetched = await backend.fetch(
                config.url,
                address,
                keep_bytes=0,
                max_bytes=config.max_bytes,
                max_seconds=config.max_seconds,
            )
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        return ThroughputResult(t0=t0, t=config.clock.now(), failure=classify(exc), url=config.url)
    if fetched.status not in _OK:
        return ThroughputResult(
            t0=t0,
            t=config.clock.now(),
            failure=failures.HTTP_REQUEST_FAILED,
            url=config.url,
            bytes=fetched.length,
        )
    return ThroughputResult(
        t0=t0,
        t=config.clock.now(),
        url=config.url,
        bytes=fetched.length,
        kbps=round(fetched.length * 8 / 1000 / max(fetched.seconds, 1e-6), 1),
    )
