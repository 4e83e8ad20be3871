"""Throttling on an ISP router with tc: a token bucket (tbf) per throttle action.

The kernel's classful qdiscs here are htb only (no prio), so each interface gets an
htb root whose default class is unlimited and one class per active throttle,
ending in a tbf at the throttle's rate; u32 filters send the platforms' packets to
it. The tree is rebuilt whenever a throttle starts or ends.

Downloads are shaped on the subscriber links (`d<k>`, matching the platforms as
source), uploads on the `uplink` (matching them as destination).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Literal

Direction = Literal["src", "dst"]
_UNLIMITED = "htb rate 10gbit quantum 60000"
_BURST_S = 0.02  # a tbf bucket holds this much time at the rate, at least two packets
_MIN_BURST = 3028
_LATENCY = "100ms"


@dataclass(frozen=True, slots=True)
class Throttle:
    rate_kbps: float
    addresses: tuple[IPv4Address, ...]  # empty: every packet


def tree(interface: str, direction: Direction, throttles: Sequence[Throttle]) -> list[str]:
    """`tc -batch` lines building the interface's tree from scratch (root deleted first)."""
    dev = f"dev {interface}"
    lines = [
        f"qdisc add {dev} root handle 1: htb default 1",
        f"class add {dev} parent 1: classid 1:1 {_UNLIMITED}",
    ]
    for number, throttle in enumerate(throttles, start=10):
        burst = max(_MIN_BURST, int(throttle.rate_kbps * 1000 / 8 * _BURST_S))
        lines += [
            f"class add {dev} parent 1: classid 1:{number} {_UNLIMITED}",
            (
                f"qdisc add {dev} parent 1:{number} handle {number}: tbf "
                f"rate {throttle.rate_kbps:g}kbit burst {burst} latency {_LATENCY}"
            ),
        ]
        if throttle.addresses:
            lines += [
                f"filter add {dev} parent 1: protocol ip prio {number} "
                f"u32 match ip {direction} {address}/32 flowid 1:{number}"
                for address in throttle.addresses
            ]
        else:
            lines.append(
                f"filter add {dev} parent 1: protocol all prio {number} "
                f"u32 match u32 0 0 flowid 1:{number}"
            )
    return lines
