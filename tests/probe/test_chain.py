"""The chain against the loopback world (conftest): one clean target and one per failing layer."""

import errno
import ipaddress

import msgspec
import pytest

from balise.model.layers import Layer
from balise.model.results import DnsResult, TargetResult, TcpResult
from probe.backend import Fetched, NetworkBackend
from probe.chain import ChainPlan, judge, measure_target
from probe.measure_settings import MeasureSettings
from probe.measurements.traceroute import TracerouteLimiter
from tests.conftest import is_root
from tests.probe.conftest import World
from tests.support.local_http import PLATFORM_PAGE
from tests.support.local_tls import LocalServer, sni_filter


async def test_clean_chain(world: World, clock):
    result = await measure_target(
        world.target("platform.test"), world.plan(clock=clock), world.backend()
    )
    assert (result.failed_layer, result.failure, result.truncated) == (None, None, False)
    assert [(d.resolver == "system", d.qtype, d.answers) for d in result.dns] == [
        (True, "A", ("127.0.0.1",)),
        (True, "AAAA", ()),
        (False, "A", ("127.0.0.1",)),  # no AAAA from the independent resolver: IPv4 is used
    ]
    assert [(t.address, t.failure, t.control) for t in result.tcp] == [("127.0.0.1", None, False)]
    assert result.tls[0].cert_valid is True
    # HTTPS: a HEAD (status and headers; a censor cannot alter the page without breaking
    # TLS); plain HTTP: a GET, whose page a censor could replace.
    assert [(h.url.split(":")[0], h.status, h.title, h.body_length) for h in result.http] == [
        ("https", 200, None, None),
        ("http", 200, "The Platform", len(PLATFORM_PAGE)),
    ]
    steps = [*result.dns, *result.tcp, *result.tls, *result.http]
    assert all(0 <= s.t0 <= s.t for s in steps)
    assert result.tcp[0].t0 >= max(d.t for d in result.dns)  # TCP waits for DNS


async def test_independent_aaaa_only_when_the_system_answers_only_ipv6(world: World, clock):
    plan = world.plan(clock=clock)
    plan = ChainPlan(
        clock=clock,
        settings=msgspec.structs.replace(plan.settings, bogon_exempt=("127.0.0.0/8", "::1/128")),
        independent=plan.independent,
    )
    result = await measure_target(world.target("v6only.test"), plan, world.backend())
    assert [(d.resolver == "system", d.qtype, d.answers) for d in result.dns] == [
        (True, "A", ()),
        (True, "AAAA", ("::1",)),
        (False, "A", ()),
        (False, "AAAA", ("::1",)),  # compared with the system's IPv6 answers
    ]
    assert result.failed_layer != Layer.DNS


async def test_tls_and_the_https_get_ride_on_the_measured_connect(world: World, clock):
    """One connection for the TCP connect, the handshake and the HEAD: the data plan pays for
    one TCP and one TLS handshake."""
    relay = sni_filter(("127.0.0.1", world.https_port), blocked=())
    connections = []

    async def counting(reader, writer):
        connections.append(writer.get_extra_info("peername"))
        await relay(reader, writer)

    async with LocalServer(counting) as server:
        target = world.target("platform.test", port=server.port)
        result = await measure_target(target, world.plan(clock=clock), world.backend())
    assert result.failed_layer is None
    assert (result.tls[0].version, result.http[0].status) == ("TLSv1.3", 200)
    assert result.http[0].t0 >= result.tls[0].t
    assert len(connections) == 1


async def test_nxdomain_fails_dns(world: World, clock):
    result = await measure_target(
        world.target("nothing.test"), world.plan(clock=clock), world.backend()
    )
    assert (result.failed_layer, result.failure) == (Layer.DNS, "dns_nxdomain_error")
    assert (result.tcp, result.tls, result.http) == ((), (), ())


async def test_bogon_answer_fails_dns(world: World, clock):
    result = await measure_target(
        world.target("bogon.test"), world.plan(clock=clock), world.backend()
    )
    assert (result.failed_layer, result.failure) == (Layer.DNS, "dns_bogon_error")
    assert result.dns[0].bogon
    assert result.tcp == ()  # a bogon is never connected to


async def test_misleading_resolver_fails_dns_not_tls(world: World, clock):
    result = await measure_target(
        world.target("misled.test"), world.plan(clock=clock), world.backend()
    )
    assert (result.failed_layer, result.failure) == (Layer.DNS, "ssl_invalid_hostname")
    assert [(t.address, t.control, t.failure) for t in result.tcp] == [
        ("127.0.0.2", False, None),
        ("127.0.0.1", True, None),  # the independent resolver's address connects
    ]
    assert result.tls[0].failure == "ssl_invalid_hostname"


async def test_unreachable_address_fails_tcp(world: World, clock):
    target = world.target("ipblocked.test", control_address="127.0.0.3")
    result = await measure_target(target, world.plan(clock=clock), world.backend())
    assert (result.failed_layer, result.failure) == (Layer.TCP, "connection_refused")
    assert [t.control for t in result.tcp] == [False, True]
    assert result.tls == ()


async def test_sni_reset_fails_tls(world: World, clock):
    target = world.target("sni-blocked.test", port=world.censor_port)
    result = await measure_target(target, world.plan(clock=clock), world.backend())
    assert (result.failed_layer, result.failure) == (Layer.TLS, "connection_reset")
    decoy = result.tls[0].decoy
    assert decoy is not None
    assert decoy.failure is None
    assert [h.url.split(":")[0] for h in result.http] == ["http"]  # no HTTPS after TLS failed


async def test_block_page_fails_http(world: World, clock):
    target = world.target("platform.test", http_domain="blockpage.test")
    result = await measure_target(target, world.plan(clock=clock), world.backend())
    assert (result.failed_layer, result.failure) == (Layer.HTTP, "http_request_failed")
    assert result.http[0].failure is None  # HTTPS itself worked
    assert result.http[1].blockpage == "body:access to this site has been"
    assert "blockpage.test" in world.system_dns.queries


class RefusingBackend(NetworkBackend):
    """A substituted backend: every connection is refused."""

    async def open_stream(self, *_: object):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test backend")

    async def fetch(self, *_: object, **__: object) -> Fetched:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test backend")


async def test_substituted_backend_changes_the_results(world: World, clock):
    backend = RefusingBackend.from_settings(world.settings)
    result = await measure_target(world.target("platform.test"), world.plan(clock=clock), backend)
    assert (result.failed_layer, result.failure) == (Layer.TCP, "connection_refused")
    assert result.dns[0].answers == ("127.0.0.1",)  # DNS still went to the real server
    assert [h.failure for h in result.http] == ["connection_refused"]


async def test_deadline_keeps_what_was_measured(world: World, clock):
    world.system_dns.silent.add("platform.test")
    plan = world.plan(clock=clock, deadline=clock.start + 0.3)
    result = await measure_target(world.target("platform.test"), plan, world.backend())
    assert result.truncated
    assert (result.failed_layer, result.dns, result.tcp) == (None, (), ())


def test_judge_reads_a_target_result_too():
    result = TargetResult(
        target="x",
        dns=(
            DnsResult(
                t0=0,
                t=0.1,
                domain="x",
                qtype="A",
                resolver="system",
                answers=("192.0.2.1",),
                bogon=True,
            ),
        ),
        tcp=(
            TcpResult(
                t0=0.1, t=1.1, failure="generic_timeout_error", address="192.0.2.1", port=443
            ),
        ),
    )
    exempt = MeasureSettings().bogon_exempt
    networks = tuple(ipaddress.ip_network(n) for n in exempt)
    assert judge(result, networks) == (Layer.TCP, "generic_timeout_error")
    assert judge(result) == (Layer.DNS, "dns_bogon_error")  # 192.0.2.1 is a bogon unless exempt


@pytest.mark.root
@pytest.mark.skipif(not is_root(), reason="traceroute crafts raw packets: needs root")
async def test_traceroute_toward_a_failing_target_once(world: World, clock):
    limiter = TracerouteLimiter(every_s=600)
    target = world.target("sni-blocked.test", port=world.censor_port)
    plan = world.plan(clock=clock, traceroutes=limiter)
    first = await measure_target(target, plan, world.backend())
    again = await measure_target(target, plan, world.backend())
    assert first.traceroute is not None
    assert first.traceroute.failure is None
    assert [(h.ttl, h.address) for h in first.traceroute.hops] == [(1, "127.0.0.1")]
    assert again.traceroute is None  # rate limited
    clean = await measure_target(world.target("platform.test"), plan, world.backend())
    assert clean.traceroute is None  # nothing failed
