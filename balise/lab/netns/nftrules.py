"""nftables scripts for the censor's actions, one table per action on an ISP router.

Each action gets its own table (`inet balise_a<index>`), so removing it is deleting
the table, and actions that overlap in time do not disturb each other: a packet
is dropped when any table drops it.

Router interfaces: `uplink` toward the Internet, `d<k>` toward each subscriber.
"""

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

# Where a ClientHello's server_name entry may start in the TCP payload: after at least
# the record (5) and handshake (4) headers, version (2), random (32), an empty session
# id, one cipher suite, compression, and the extension headers; before the end of a
# large hello. nftables has no TLS parser, so each offset gets its own rule.
SNI_OFFSETS = range(58, 720)
_CHUNK_BYTES = 16  # nftables compares at most 128 bits at a time


def table_name(index: int) -> str:
    return f"balise_a{index}"


def table(index: int, chains: Iterable[str]) -> str:
    return f"table inet {table_name(index)} {{\n" + "\n".join(chains) + "\n}\n"


def chain(
    name: str,
    rules: Sequence[str],
    *,
    hook: str | None = None,
    kind: Literal["filter", "nat"] = "filter",
    priority: str = "0",
) -> str:
    head = f"  chain {name} {{\n"
    if hook is not None:
        head += f"    type {kind} hook {hook} priority {priority};\n"
    return head + "".join(f"    {rule}\n" for rule in rules) + "  }"


def address_set(addresses: Iterable[IPv4Address | IPv4Network]) -> str:
    return "{ " + ", ".join(str(a) for a in addresses) + " }"


def block_ip(index: int, addresses: Sequence[IPv4Address], mode: Literal["drop", "reject"]) -> str:
    where = f"ip daddr {address_set(addresses)}"
    if mode == "drop":
        rules = [f"{where} drop"]
    else:
        rules = [
            f"{where} meta l4proto tcp reject with tcp reset",
            f"{where} reject with icmpx type admin-prohibited",
        ]
    return table(index, [chain("forward_hook", rules, hook="forward")])


def block_sni(index: int, names: Sequence[str], mode: Literal["reset", "drop"]) -> str:
    verdict = "reject with tcp reset" if mode == "reset" else "drop"
    # Only a segment that starts with a TLS handshake record holding a ClientHello.
    guard = "tcp dport 443 @ih,0,8 0x16 @ih,40,8 0x01 jump server_name"
    rules = [
        f"{_payload_match(_server_name_entry(name), offset)} {verdict}"
        for name in names
        for offset in SNI_OFFSETS
    ]
    return table(
        index, [chain("forward_hook", [guard], hook="forward"), chain("server_name", rules)]
    )


def _server_name_entry(name: str) -> bytes:
    """RFC 6066 ServerName: type host_name (0), 16-bit length, the name."""
    raw = name.encode("ascii")
    return b"\x00" + len(raw).to_bytes(2, "big") + raw


def _payload_match(data: bytes, offset: int) -> str:
    parts = []
    for start in range(0, len(data), _CHUNK_BYTES):
        chunk = data[start : start + _CHUNK_BYTES]
        parts.append(f"@ih,{(offset + start) * 8},{len(chunk) * 8} 0x{chunk.hex()}")
    return " ".join(parts)


def blockpage_http(index: int, addresses: Sequence[IPv4Address], blockpage: IPv4Address) -> str:
    rule = f"ip daddr {address_set(addresses)} tcp dport 80 dnat ip to {blockpage}:80"
    return table(
        index, [chain("prerouting_hook", [rule], hook="prerouting", kind="nat", priority="dstnat")]
    )


def loss(index: int, percent: float) -> str:
    """Random loss on the access links, both ways, forwarded or for the router itself."""
    per_mille = round(percent * 10)
    drop = f"numgen random mod 1000 < {per_mille} drop"
    return table(
        index,
        [
            chain("prerouting_hook", [f'iifname "d*" {drop}'], hook="prerouting"),
            chain("postrouting_hook", [f'oifname "d*" {drop}'], hook="postrouting"),
        ],
    )


def shutdown_full(index: int) -> str:
    """Nothing beyond the router: no forwarding, and the router itself cut off upstream."""
    return table(
        index,
        [
            chain("forward_hook", ["drop"], hook="forward"),
            chain("output_hook", ['oifname "uplink" drop'], hook="output"),
        ],
    )


def shutdown_international(index: int, domestic: Sequence[IPv4Network]) -> str:
    """Only the country's own prefixes stay reachable, from the subscribers and the router."""
    inside = address_set(domestic)
    return table(
        index,
        [
            chain(
                "forward_hook",
                [
                    f'oifname "uplink" ip daddr != {inside} drop',
                    f'iifname "uplink" ip saddr != {inside} drop',
                ],
                hook="forward",
            ),
            chain("output_hook", [f'oifname "uplink" ip daddr != {inside} drop'], hook="output"),
        ],
    )
