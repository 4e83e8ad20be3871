import asyncio
import ipaddress

import pytest

from probe.backend import NetworkBackend
from probe.measurements import dns
from probe.measurements.resolver import ResolverSpec, parse_resolver
from tests.probe.conftest import LOOPBACK
from tests.support.local_dns import LocalDns
from tests.support.local_http import LocalWeb, make_app
from tests.support.local_tls import LocalServer, Pki, sni_filter


def config(clock, domain, qtype="A", resolver=None, timeout=2.0, exempt=LOOPBACK):
    return dns.Config(
        clock=clock,
        domain=domain,
        qtype=qtype,
        resolver=resolver,
        timeout=timeout,
        bogon_exempt=exempt,
    )


async def test_system_resolver_answers(clock, backend):
    result = await dns.run(config(clock, "platform.test"), backend)
    assert result.failure is None
    assert result.rcode == "NOERROR"
    assert result.answers == ("127.0.0.1",)
    assert result.resolver == "system"
    assert not result.bogon
    assert 0 <= result.t0 <= result.t


async def test_aaaa(clock, backend):
    result = await dns.run(config(clock, "platform.test", "AAAA"), backend)
    assert result.answers == ("::1",)


@pytest.mark.parametrize(
    ("domain", "failure", "rcode"),
    [
        ("nothing.test", "dns_nxdomain_error", "NXDOMAIN"),
        ("broken.test", "dns_server_failure", "SERVFAIL"),
        ("refusing.test", "dns_refused_error", "REFUSED"),
    ],
)
async def test_error_rcodes(clock, backend, domain, failure, rcode):
    result = await dns.run(config(clock, domain), backend)
    assert (result.failure, result.rcode, result.answers) == (failure, rcode, ())


async def test_empty_answer_is_no_answer(clock, backend):
    result = await dns.run(config(clock, "v4only.test", "AAAA"), backend)
    assert (result.failure, result.rcode) == ("dns_no_answer", "NOERROR")


async def test_silent_resolver_times_out(clock, backend):
    result = await dns.run(config(clock, "silent.test", timeout=0.3), backend)
    assert result.failure == "generic_timeout_error"
    assert result.t - result.t0 == pytest.approx(0.3, abs=0.2)


async def test_loopback_answer_is_a_bogon_unless_exempt(clock, backend):
    flagged = await dns.run(config(clock, "platform.test", exempt=()), backend)
    assert flagged.bogon
    assert flagged.failure is None  # the query worked; the chain judges the answer


def test_bogons():
    exempt = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24",))
    assert dns.is_bogon("10.10.34.36")
    assert dns.is_bogon("127.0.0.1")
    assert dns.is_bogon("0.0.0.0")  # noqa: S104 - an address to judge, not to bind
    assert dns.is_bogon("fe80::1")
    assert dns.is_bogon("224.0.0.1")
    assert not dns.is_bogon("157.240.192.35")
    assert not dns.is_bogon("2a03:2880:f12f:83:face:b00c::25de")
    assert dns.is_bogon("192.0.2.7")  # documentation range: private to Python...
    assert not dns.is_bogon("192.0.2.7", exempt)  # ...but the lab's real hosts live there


async def test_independent_plain_resolver(clock, backend):
    async with LocalDns(records={"platform.test": ("192.0.2.10",)}) as other:
        result = await dns.run(
            config(clock, "platform.test", resolver=parse_resolver(other.spec)), backend
        )
    assert result.answers == ("192.0.2.10",)
    assert result.resolver == f"udp:127.0.0.1:{other.port}"


async def test_dns_over_https(clock, backend, pki: Pki):
    app = make_app(records={"platform.test": ("192.0.2.20",)})
    async with LocalWeb(app, context=pki.server_context("doh.test")) as web:
        spec = ResolverSpec(
            kind="doh", url=f"https://doh.test:{web.port}/dns-query", address="127.0.0.1"
        )
        result = await dns.run(config(clock, "platform.test", resolver=spec), backend)
        missing = await dns.run(config(clock, "nothing.test", resolver=spec), backend)
    assert result.failure is None
    assert result.answers == ("192.0.2.20",)
    assert result.resolver == f"doh:https://doh.test:{web.port}/dns-query"
    assert missing.failure == "dns_nxdomain_error"


async def test_doh_queries_share_one_kept_connection_reopened_when_dropped(
    clock, backend, pki: Pki
):
    """Twenty queries a round: one TLS handshake, not twenty (docs/performance.md)."""
    app = make_app(records={"platform.test": ("192.0.2.20",)})
    async with LocalWeb(app, context=pki.server_context("doh.test")) as web:
        relay = sni_filter(("127.0.0.1", web.port), blocked=())
        clients = []

        async def counting(reader, writer):
            clients.append(writer)
            await relay(reader, writer)

        async with LocalServer(counting) as server:
            spec = ResolverSpec(
                kind="doh", url=f"https://doh.test:{server.port}/dns-query", address="127.0.0.1"
            )
            queries = [config(clock, "platform.test", qtype, resolver=spec) for qtype in "A" * 4]
            results = await asyncio.gather(*(dns.run(q, backend) for q in queries))
            assert [r.answers for r in results] == [("192.0.2.20",)] * 4
            assert len(clients) == 1
            clients[0].transport.abort()  # the server hangs up between two rounds
            await asyncio.sleep(0.05)
            again = await dns.run(queries[0], backend)
    assert (again.failure, again.answers) == (None, ("192.0.2.20",))
    assert len(clients) == 2


async def test_an_idle_doh_connection_is_not_reused(clock, pki: Pki, system_dns):
    """A NAT may have forgotten an idle flow: after `doh_idle_s` a query opens a new one."""
    backend = NetworkBackend(
        system_resolver=system_dns.spec, ca_file=str(pki.ca_file), doh_idle_s=0.1
    )
    app = make_app(records={"platform.test": ("192.0.2.20",)})
    async with LocalWeb(app, context=pki.server_context("doh.test")) as web:
        relay = sni_filter(("127.0.0.1", web.port), blocked=())
        clients = []

        async def counting(reader, writer):
            clients.append(writer)
            await relay(reader, writer)

        async with LocalServer(counting) as server:
            spec = ResolverSpec(
                kind="doh", url=f"https://doh.test:{server.port}/dns-query", address="127.0.0.1"
            )
            query = config(clock, "platform.test", resolver=spec)
            results = [await dns.run(query, backend), await dns.run(query, backend)]
            await asyncio.sleep(0.2)
            results.append(await dns.run(query, backend))
    assert [r.answers for r in results] == [("192.0.2.20",)] * 3
    assert len(clients) == 2


async def test_doh_host_is_looked_up_through_the_system_resolver(clock, system_dns, pki: Pki):
    system_dns.records["doh.test"] = ("127.0.0.1",)
    backend = NetworkBackend(system_resolver=system_dns.spec, ca_file=str(pki.ca_file))
    app = make_app(records={"platform.test": ("192.0.2.20",)})
    async with LocalWeb(app, context=pki.server_context("doh.test")) as web:
        spec = parse_resolver(f"https://doh.test:{web.port}/dns-query")
        assert spec.address is None
        result = await dns.run(config(clock, "platform.test", resolver=spec), backend)
    assert result.answers == ("192.0.2.20",)
    assert "doh.test" in system_dns.queries


async def test_doh_with_an_untrusted_certificate_fails(clock, backend, pki: Pki):
    app = make_app(records={"platform.test": ("192.0.2.20",)})
    async with LocalWeb(app, context=pki.server_context("doh.test", rogue=True)) as web:
        spec = ResolverSpec(
            kind="doh", url=f"https://doh.test:{web.port}/dns-query", address="127.0.0.1"
        )
        result = await dns.run(config(clock, "platform.test", resolver=spec), backend)
    assert result.failure == "ssl_unknown_authority"


async def test_system_resolver_from_resolv_conf(clock, tmp_path, system_dns):
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text(f"# from DHCP\nnameserver 127.0.0.1\noptions port:{system_dns.port}\n")
    backend = NetworkBackend(resolv_conf=resolv_conf)
    spec = backend.system_resolver()
    assert (spec.address, spec.port) == ("127.0.0.1", 53)  # resolv.conf cannot name a port
    resolv_conf.write_text("nameserver 192.0.2.53\n")
    assert backend.system_resolver().address == "192.0.2.53"  # read again each time


async def test_no_nameserver_is_a_failure(clock, tmp_path):
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text("# nothing\n")
    backend = NetworkBackend(resolv_conf=resolv_conf)
    result = await dns.run(config(clock, "platform.test"), backend)
    assert result.failure == "dns_server_failure"
    assert result.resolver == "system"


def test_parse_resolver():
    assert parse_resolver("udp:127.0.0.1:5353") == ResolverSpec(
        kind="udp", address="127.0.0.1", port=5353
    )
    assert parse_resolver("9.9.9.9").port == 53
    assert parse_resolver("udp:[::1]:53").label() == "udp:[::1]:53"
    assert parse_resolver("doh:https://1.1.1.1/dns-query").address == "1.1.1.1"
    for bad in ("udp:resolver.example:53", "udp:127.0.0.1:99999", "https:///x"):
        with pytest.raises(ValueError, match="resolver"):
            parse_resolver(bad)
