"""Anchors: is the gateway, the resolver, a domestic or an international host reachable?

ICMP echo first, through an unprivileged ping socket (Linux allows one when
net.ipv4.ping_group_range covers the process's group; Debian's systemd sets it
for everyone). When pinging is not allowed, or gets no answer (ICMP may be
filtered where TCP passes), a TCP connect to the anchor's port decides instead.
In TCP mode a refused connection counts as reachable (failure None): the host
answered with a reset, so the path to it works.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Literal

from balise.model import failures
from balise.model.catalog import Anchor
from balise.model.failures import Failure
from balise.model.results import AnchorResult
from probe.backend import Backend
from probe.classify import classify
from probe.measurements.timing import RoundClock

AUTO = "auto"
Method = Literal["icmp", "tcp"]


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    anchor: Anchor
    timeout: float  # for each of the two attempts
    icmp: bool = True  # try ICMP before TCP
    default_port: int = 80  # for TCP when the anchor names no port


async def run(config: Config, backend: Backend) -> AnchorResult:
    t0 = config.clock.now()
    anchor = config.anchor
    address = _address(anchor, backend)
    if address is None:  # no default route, no nameserver: nothing to reach
        return _result(config, t0, failures.NETWORK_UNREACHABLE, "icmp", AUTO, None)
    if config.icmp:
        with contextlib.suppress(Exception):  # not allowed, or no echo: TCP decides
            async with asyncio.timeout(config.timeout):
                rtt = await backend.ping(address)
            return _result(config, t0, None, "icmp", address, rtt)
    return await _tcp(config, t0, address, backend)


async def _tcp(config: Config, t0: float, address: str, backend: Backend) -> AnchorResult:
    port = config.anchor.port or config.default_port
    started = config.clock.now()
    try:
        async with asyncio.timeout(config.timeout):
            await backend.connect(address, port)
    except ConnectionRefusedError:
        pass  # the host itself answered: reachable
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        return _result(config, t0, classify(exc), "tcp", address, None)
    return _result(config, t0, None, "tcp", address, config.clock.now() - started)


def _address(anchor: Anchor, backend: Backend) -> str | None:
    if anchor.address != AUTO:
        return anchor.address
    if anchor.role == "gateway":
        return backend.default_gateway()
    if anchor.role == "resolver":
        try:
            return backend.system_resolver().address
        except Exception:  # noqa: BLE001 - no usable resolver configuration: unreachable
            return None
    raise ValueError(f"anchor {anchor.id}: 'auto' works for the gateway and the resolver only")


def _result(
    config: Config,
    t0: float,
    failure: Failure | None,
    method: Method,
    address: str,
    rtt_s: float | None,
) -> AnchorResult:
    return AnchorResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        anchor=config.anchor.id,
        role=config.anchor.role,
        method=method,
        address=address,
        rtt_ms=None if rtt_s is None else round(rtt_s * 1e3, 2),
    )
