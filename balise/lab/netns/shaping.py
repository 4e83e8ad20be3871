"""Access links and throttling with tc: every subscriber line has its access rate, and a
throttle action adds a token bucket (tbf) for the platforms it slows.

The kernel's classful qdiscs here are htb only (no prio), so each interface gets an
htb tree: a top class at the line's rate, a default class for everything, and one
class per active throttle ending in a tbf at the throttle's rate; u32 filters send
the platforms' packets there. The tree is rebuilt whenever a throttle starts or
ends.

Downloads are shaped on the subscriber links (`d<k>` of a router, matching the
platforms as source), uploads on the router's `uplink` (matching them as
destination), which has no rate of its own.

The line rate makes a throughput test measure the line, not the CPU: on an unlimited
veth a download takes a few milliseconds and any pause of a busy machine reads as a
slow platform. (The probe downloads one target at a time, so the line is not shared
between its throughput tests.)

A throttle is a shaper with a queue of `_LATENCY`, as ISPs' shapers are: a flow that
sends little (the probe's MQTT session, a DNS query) waits in the queue behind the
downloads but gets through; a shallow queue would drop it again and again, and the
retransmission timeouts of a sparse flow grow until the session is lost.
"""

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal

from balise.lab.netns.commands import LabError, run
from balise.model.layers import Access

Direction = Literal["src", "dst"]

# A subscriber line's rate, by access type: what an unthrottled download gets at most.
# It also keeps throughput steady on a busy machine, where an unlimited veth measures
# the CPU more than the network.
ACCESS_KBPS: Mapping[Access, float] = {Access.FIXED: 20_000, Access.MOBILE: 8_000}
_UNLIMITED_KBPS = 10_000_000
_BURST_S = 0.02  # a tbf bucket holds this much time at the rate, at least two packets
_MIN_BURST = 3028
_LATENCY = "150ms"
_QUANTUM = "quantum 1514"


@dataclass(frozen=True, slots=True)
class Throttle:
    rate_kbps: float
    addresses: tuple[IPv4Address, ...]  # empty: every packet


@dataclass(frozen=True, slots=True)
class Line:
    """An interface to shape: which way the platforms' packets go, and its own rate."""

    interface: str
    direction: Direction
    rate_kbps: float | None = None  # None: no rate of its own


def tree(line: Line, throttles: Sequence[Throttle]) -> list[str]:
    """`tc -batch` lines building the interface's tree from scratch (root deleted first)."""
    dev = f"dev {line.interface}"
    ceiling = line.rate_kbps or _UNLIMITED_KBPS
    lines = [
        f"qdisc add {dev} root handle 1: htb default 2",
        f"class add {dev} parent 1: classid 1:1 htb rate {ceiling:g}kbit {_QUANTUM}",
        f"class add {dev} parent 1:1 classid 1:2 htb rate {ceiling:g}kbit {_QUANTUM}",
    ]
    for number, throttle in enumerate(throttles, start=10):
        rate = min(throttle.rate_kbps, ceiling)
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
    """Rebuild the trees of these interfaces; one without rate nor throttle gets none."""
    for line in lines:
        with contextlib.suppress(LabError):  # no tree yet
            await run(("tc", "-n", ns, "qdisc", "del", "dev", line.interface, "root"))
        if throttles or line.rate_kbps:
            script = "\n".join(tree(line, throttles)) + "\n"
            await run(("tc", "-n", ns, "-batch", "-"), stdin=script)
