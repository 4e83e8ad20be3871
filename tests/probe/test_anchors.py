import textwrap
from pathlib import Path

import pytest

from balise.model.catalog import Anchor
from probe.backend import NetworkBackend
from probe.measurements import anchors
from tests.conftest import is_root
from tests.support import own_netns
from tests.support.local_tls import FullBacklog, refused_port

ROUTES = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
DEFAULT_VIA_LOOPBACK = "eth0\t00000000\t0100007F\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"


def anchor_config(clock, anchor, *, icmp=False, default_port=80, timeout=0.5):
    return anchors.Config(
        clock=clock, anchor=anchor, timeout=timeout, icmp=icmp, default_port=default_port
    )


async def test_refused_connection_means_reachable(clock, backend):
    anchor = Anchor(id="dom", role="domestic", address="127.0.0.1", port=refused_port())
    result = await anchors.run(anchor_config(clock, anchor), backend)
    assert (result.failure, result.method, result.address) == (None, "tcp", "127.0.0.1")
    assert result.rtt_ms is not None


async def test_dropped_syns_mean_unreachable(clock, backend):
    backlog = FullBacklog()
    try:
        anchor = Anchor(id="intl", role="international", address="127.0.0.1", port=backlog.port)
        result = await anchors.run(anchor_config(clock, anchor, timeout=0.3), backend)
    finally:
        backlog.close()
    assert (result.failure, result.method, result.rtt_ms) == ("generic_timeout_error", "tcp", None)


async def test_auto_gateway_from_the_routing_table(clock, tmp_path: Path):
    routes = tmp_path / "route"
    routes.write_text(ROUTES + DEFAULT_VIA_LOOPBACK)
    backend = NetworkBackend(route_table=routes)
    anchor = Anchor(id="gw", role="gateway", address="auto")
    result = await anchors.run(anchor_config(clock, anchor, default_port=refused_port()), backend)
    assert (result.address, result.failure, result.role) == ("127.0.0.1", None, "gateway")


async def test_no_default_route_is_unreachable(clock, tmp_path: Path):
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    backend = NetworkBackend(route_table=routes)
    result = await anchors.run(
        anchor_config(clock, Anchor(id="gw", role="gateway", address="auto")), backend
    )
    assert (result.address, result.failure) == ("auto", "network_unreachable")


async def test_auto_resolver_is_the_system_resolver(clock, backend, system_dns):
    anchor = Anchor(id="res", role="resolver", address="auto", port=refused_port())
    result = await anchors.run(anchor_config(clock, anchor), backend)
    assert (result.address, result.failure) == (system_dns.host, None)


def test_auto_is_only_for_gateway_and_resolver(clock, backend):
    anchor = Anchor(id="x", role="domestic", address="auto")
    with pytest.raises(ValueError, match="'auto' works for"):
        anchors._address(anchor, backend)


ICMP_SCRIPT = textwrap.dedent(
    """
    import asyncio
    from balise.model.catalog import Anchor
    from probe.backend import NetworkBackend
    from probe.measurements import anchors
    from probe.measurements.timing import RoundClock

    async def main():
        config = anchors.Config(
            clock=RoundClock(), anchor=Anchor(id="lo", role="domestic", address="127.0.0.1"),
            timeout=1.0, icmp=True,
        )
        result = await anchors.run(config, NetworkBackend())
        print(result.method, result.failure, result.rtt_ms is not None)

    asyncio.run(main())
    """
)


@pytest.mark.root
@pytest.mark.skipif(not is_root(), reason="a network namespace of our own needs root")
@pytest.mark.parametrize(
    ("groups", "method"),
    [
        ("0 2147483647", "icmp"),
        # No ping sockets: TCP decides (nothing listens in the namespace, so it is refused).
        ("1 0", "tcp"),
    ],
)
def test_ping_sockets_or_tcp_as_the_namespace_allows(groups, method):
    done = own_netns.run_python(ICMP_SCRIPT, ping_groups=groups)
    assert done.stdout.split() == [method, "None", "True"], done.stderr


def test_raw_packets_follow_the_effective_capability(tmp_path):
    from probe.backend import has_net_raw  # noqa: PLC0415

    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t0000000000002000\n")  # CAP_NET_RAW only
    assert has_net_raw(status)
    status.write_text("Name:\tx\nCapEff:\t0000000000000400\n")  # CAP_NET_BIND_SERVICE only
    assert not has_net_raw(status)
