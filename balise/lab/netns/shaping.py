"""Throttling with tc: a token bucket (tbf) per throttle action on an ISP router.

The kernel's classful qdiscs here are htb only (no prio), so each interface gets an
htb tree: an unlimited default class for everything, and one class per active
throttle ending in a tbf at the throttle's rate; u32 filters send the platforms'
packets there. The tree is rebuilt whenever a throttle starts or ends.

Downloads are shaped on the subscriber links (`d<k>` of a router, matching the
platforms as source), uploads on the router's `uplink` (matching them as
destination).

The subscriber lines themselves have no rate: the probes measure every target's
throughput at once, and on a shared line of a few Mbps the downloads that finish
last get the line to themselves, so one platform's rate varies sevenfold from round
to round, which the detector takes for throttling.
"""

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal

from balise.lab.netns.commands import LabError, run

Direction = Literal["src", "dst"]

_QUANTUM = "quantum 1514"
_UNLIMITED = f"htb rate 10gbit {_QUANTUM}"
_BURST_S = 0.02  # a tbf bucket holds this much time at the rate, at least two packets
_MIN_BURST = 3028
_LATENCY = "100ms"


@dataclass(frozen=True, slots=True)
class Throttle:
    rate_kbps: float
    addresses: tuple[IPv4Address, ...]  # empty: every packet


@dataclass(frozen=True, slots=True)
class Line:
    """An interface to shape, and which way the platforms' packets go through it."""

    interface: str
    direction: Direction


def tree(line: Line, throttles: Sequence[Throttle]) -> list[str]:
    """`tc -batch` lines building the interface's tree from scratch (root deleted first)."""
    dev = f"dev {line.interface}"
    lines = [
        f"qdisc add {dev} root handle 1: htb default 2",
        f"class add {dev} parent 1: classid 1:1 {_UNLIMITED}",
        f"class add {dev} parent 1:1 classid 1:2 {_UNLIMITED}",
    ]
    for number, throttle in enumerate(throttles, start=10):
        rate = throttle.rate_kbps
        burst = max(_MIN_BURST, int(rate * 1000 / 8 * _BURST_S))
        lines += [
            f"class add {dev} parent 1:1 classid 1:{number} htb rate {rate:g}kbit {_QUANTUM}",
            (
                f"qdisc add {dev} parent 1:{number} handle {number}: tbf "
                f"rate {rate:g}kbit burst {burst} latency {_LATENCY}"
            ),
        ]
        if throttle.addresses:
            lines += [
                f"filter add {dev} parent 1: protocol ip prio {number} "
                f"u32 match ip {line.direction} {address}/32 flowid 1:{number}"
                for address in throttle.addresses
            ]
        else:
            lines.append(
                f"filter add {dev} parent 1: protocol all prio {number} "
                f"u32 match u32 0 0 flowid 1:{number}"
            )
    return lines


async def shape(ns: str, lines: Sequence[Line], throttles: Sequence[Throttle]) -> None:
    """Rebuild the trees of these interfaces; without throttles they get none."""
    for line in lines:
        with contextlib.suppress(LabError):  # no tree yet
            await run(("tc", "-n", ns, "qdisc", "del", "dev", line.interface, "root"))
        if throttles:
            script = "\n".join(tree(line, throttles)) + "\n"
            await run(("tc", "-n", ns, "-batch", "-"), stdin=script)
