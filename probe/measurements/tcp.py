"""TCP: one connect to one address, closed at once or kept for the TLS handshake."""

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from balise.model.results import TcpResult
from probe.backend import Backend, Streams
from probe.classify import classify
from probe.measurements.timing import RoundClock

if TYPE_CHECKING:
    from balise.model.failures import Failure


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    address: str
    port: int
    timeout: float
    control: bool = False  # not an address the system resolver gave (see TcpResult)


async def run(
    config: Config, backend: Backend, keep: dict[str, Streams] | None = None
) -> TcpResult:
    """With `keep`, a connection made is put there under its address, open, for the
    caller to use and close; else it is closed at once."""
    t0 = config.clock.now()
    failure: Failure | None = None
    try:
        async with asyncio.timeout(config.timeout):
            streams = await backend.open_stream(config.address, config.port)
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        failure = classify(exc)
    else:
        if keep is None:
            streams[1].transport.abort()
        else:
            keep[config.address] = streams
    return TcpResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        address=config.address,
        port=config.port,
        control=config.control,
    )
