"""Bringing a plan up in the kernel: namespaces, veth links, addresses, routes, resolv.conf.

Every veth is created with both ends inside lab namespaces (`ip -n PARENT link add
... peer ... netns CHILD`), so the root namespace never sees a lab interface.
Taking it down is `cleanup.remove_run`.
"""

import asyncio
from pathlib import Path

from balise.lab.netns.addressing import AUTHORITATIVE_DNS, Node, Plan
from balise.lab.netns.commands import batch, run, sysctl

NETNS_ETC = Path("/etc/netns")  # `ip netns exec NS` bind-mounts NETNS_ETC/NS/* over /etc/*

_EVERYWHERE = {
    # The lab speaks IPv4 only: no link-local IPv6 chatter, no address the plan does not know.
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}
_FORWARDER = {"net.ipv4.ip_forward": "1"}
# TCP's minimum retransmission timeout (200 ms in the kernel), compressed like the lab's
# time (configs.TimeScale: a 10 s round lasts 3 s): a segment lost on a lossy line costs
# the probes the same share of a round as in the field, not three times as much.
_RTO_MIN = "60ms"
_VANTAGE_POINT = {"net.ipv4.ping_group_range": "0 2147483647"}  # ping sockets for the anchors


async def build(plan: Plan) -> None:
    for node in plan.nodes:
        await run(("ip", "netns", "add", node.ns))
    async with asyncio.TaskGroup() as group:
        for node in plan.nodes:
            group.create_task(batch(node.ns, _veths(plan, node)), name=f"veths:{node.ns}")
    async with asyncio.TaskGroup() as group:
        for node in plan.nodes:
            group.create_task(_configure(plan, node), name=f"configure:{node.ns}")
    for node in plan.nodes:
        if node.role in {"probe", "control"}:
            _write_resolv_conf(plan, node)


def _veths(plan: Plan, node: Node) -> list[str]:
    return [
        f"link add {child.uplink.parent_if} type veth peer name {child.uplink.child_if} "
        f"netns {child.ns}"
        for child in plan.children(node.ns)
        if child.uplink is not None
    ]


async def _configure(plan: Plan, node: Node) -> None:
    commands = ["link set dev lo up"]
    commands += [f"address add {address}/32 dev lo" for address in node.local]
    if node.uplink is not None:
        link = node.uplink
        commands += [
            f"address add {link.child_address}/31 dev {link.child_if}",
            f"link set dev {link.child_if} up",
        ]
    for child in plan.children(node.ns):
        if child.uplink is not None:
            link = child.uplink
            commands += [
                f"address add {link.parent_address}/31 dev {link.parent_if}",
                f"link set dev {link.parent_if} up",
            ]
    commands += [
        f"route add {r.destination} via {r.via} rto_min {_RTO_MIN}" for r in plan.routes(node.ns)
    ]
    settings = dict(_EVERYWHERE)
    if node.forwards:
        settings |= _FORWARDER
    if node.role in {"probe", "control"}:
        settings |= _VANTAGE_POINT
    await sysctl(node.ns, settings)
    await batch(node.ns, commands)


def resolver_of(plan: Plan, node: Node) -> str:
    """The resolver a vantage point's system uses: its ISP's, or the Internet's for the control."""
    if node.role == "control" or node.uplink is None:
        return str(AUTHORITATIVE_DNS)
    router = plan.node(node.uplink.parent)
    return str(plan.resolver(router.label))


def _write_resolv_conf(plan: Plan, node: Node) -> None:
    directory = NETNS_ETC / node.ns
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "resolv.conf").write_text(
        f"nameserver {resolver_of(plan, node)}\noptions timeout:2 attempts:2\n", encoding="ascii"
    )
