"""One target's measurement chain, DNS → TCP → TLS → HTTP, and the first layer that failed.

What the chain measures:

1. DNS: A and AAAA for the target's domain through the system resolver and, when
   one is configured, A through the independent resolver (DoH or plain), all at once.
   The independent answers only serve to compare with the system's (`_misled`) and
   to pick a control address, and TCP prefers IPv4 (`_pick`): its AAAA is asked
   only when the system resolver's usable answers are all IPv6 (half of DoH's
   traffic, docs/performance.md).
2. TCP: a connect to the system resolver's *usable* addresses (not bogons; IPv4,
   or IPv6 when there is no IPv4), at most `tcp_max_addresses`; and, marked
   `control`, to the catalog's `control_address` and — when the two resolvers
   disagree — to the independent resolver's first address.
3. TLS: a verified handshake with the real SNI on the connection to the first system
   address that connected; after a failure, the decoy SNI to the same address.
4. HTTP: HEAD https://domain[:port]/path on that handshake's connection, when TLS
   succeeded: status and headers, not the page, which a censor cannot alter without
   breaking TLS (and which would cost a metered link tens of kB a target).
   Alongside steps 2-4, GET http://http_domain[:http_port]/ (pinned to the system
   address when http_domain is the domain, else looked up through the system
   resolver), reading at most `http_max_body_bytes`: where a censor injects its block
   page. Both follow redirects, but for plain HTTP's 301 to https:// of the same host,
   the platform's usual answer (probe/measurements/http.py).
5. Throughput when this target's turn is due (probe/round.py; the default
   catalog: one download a throughput round), unless DNS or TCP failed (nothing
   to measure but a timeout); a traceroute toward a failing target's address, when
   this probe can and the target was not traced recently.

How "the layer failed" is decided, in chain order (`judge`):

- DNS, when the system resolver gives no usable address. `failure` is the first
  failing system query's (A before AAAA: NXDOMAIN, timeout, SERVFAIL...), else
  `dns_bogon_error` when the answers were all bogons, else `dns_no_answer`.
- DNS too, when the system resolver misled: its addresses share none with the
  independent resolver's usable ones, a `control` connect succeeded, and on the
  system's addresses TCP failed or TLS failed on the certificate (the server is
  not the platform's). `failure` is that downstream failure, which revealed it.
- TCP, when no system address connects (`failure`: the first address's).
- TLS, when the real-SNI handshake fails, certificate errors included.
- HTTP, when the HTTPS HEAD fails (its failure), or a fetch met a block-page
  hint (`http_request_failed`; the hint is in `HttpResult.blockpage`).
- None when no measured layer failed. A layer the chain did not reach (earlier
  failure, or the round's deadline: `truncated`) has an empty tuple.

A failing plain-HTTP fetch alone fails nothing: many platforms serve no plain HTTP.
"""

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from balise.model import failures
from balise.model.catalog import Target
from balise.model.failures import Failure
from balise.model.layers import Layer
from balise.model.results import (
    DnsResult,
    HttpResult,
    TargetResult,
    TcpResult,
    ThroughputResult,
    TlsResult,
    TracerouteResult,
)
from probe.backend import Backend, FetchMethod, Streams
from probe.measure_settings import MeasureSettings
from probe.measurements import dns, http, tcp, throughput, tls, traceroute
from probe.measurements.resolver import ResolverSpec
from probe.measurements.timing import RoundClock

T = TypeVar("T")
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ChainPlan:
    """What a round tells each chain: settings, resolvers, what is due, the deadline."""

    clock: RoundClock
    settings: MeasureSettings
    independent: ResolverSpec | None = None
    throughput_targets: frozenset[str] = frozenset()  # ids of the targets downloading theirs
    deadline: float | None = None  # monotonic; the chain stops there, keeping what it has
    traceroutes: traceroute.TracerouteLimiter | None = None  # None: no traceroute
    download_line: asyncio.Lock = field(default_factory=asyncio.Lock)  # one download at once
    bogon_exempt: tuple[dns.Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        networks = tuple(ipaddress.ip_network(n) for n in self.settings.bogon_exempt)
        object.__setattr__(self, "bogon_exempt", networks)  # derived once, frozen after


@dataclass(slots=True)
class _Record:
    """What the chain measured so far: kept when the deadline cuts the rest."""

    dns: list[DnsResult] = field(default_factory=list)
    tcp: list[TcpResult] = field(default_factory=list)
    tls: list[TlsResult] = field(default_factory=list)
    http: list[HttpResult] = field(default_factory=list)
    throughput: ThroughputResult | None = None
    traceroute: TracerouteResult | None = None
    truncated: bool = False


async def measure_target(target: Target, plan: ChainPlan, backend: Backend) -> TargetResult:
    record = _Record()
    loop = asyncio.get_running_loop()
    when = None if plan.deadline is None else loop.time() + plan.deadline - time.monotonic()
    deadline = asyncio.timeout_at(when)
    try:
        async with deadline:
            await _run(target, plan, backend, record)
    except TimeoutError:
        if not deadline.expired():
            raise
        record.truncated = True
    failed_layer, failure = judge(record, plan.bogon_exempt)
    return TargetResult(
        target=target.id,
        control=target.kind == "control",
        failed_layer=failed_layer,
        failure=failure,
        dns=tuple(record.dns),
        tcp=tuple(record.tcp),
        tls=tuple(record.tls),
        http=tuple(sorted(record.http, key=lambda h: not h.url.startswith("https:"))),
        throughput=record.throughput,
        traceroute=record.traceroute,
        truncated=record.truncated,
    )


async def _run(target: Target, plan: ChainPlan, backend: Backend, record: _Record) -> None:
    settings = plan.settings

    def query(qtype: dns.QType, resolver: ResolverSpec | None) -> Awaitable[DnsResult]:
        config = dns.Config(
            clock=plan.clock,
            domain=target.domain,
            qtype=qtype,
            resolver=resolver,
            timeout=settings.dns_timeout_s,
            bogon_exempt=plan.bogon_exempt,
        )
        return dns.run(config, backend)

    queries = [query("A", None), query("AAAA", None)]
    if plan.independent:
        queries.append(query("A", plan.independent))
    record.dns.extend(await _all(queries))
    if plan.independent and _ipv6_only(record, plan):
        record.dns.append(await query("AAAA", plan.independent))
    async with asyncio.TaskGroup() as group:
        group.create_task(_plain_http(target, plan, backend, record), name=f"http-{target.id}")
        group.create_task(_secure_path(target, plan, backend, record), name=f"tls-{target.id}")
    unreachable = judge(record, plan.bogon_exempt)[0] in {Layer.DNS, Layer.TCP}
    if target.id in plan.throughput_targets and target.throughput_url and not unreachable:
        # One download at a time: concurrent ones share the line, and the rate each
        # sees would depend on when the others finish, not on the platform.
        async with plan.download_line:
            record.throughput = await throughput.run(
                throughput.Config(
                    clock=plan.clock,
                    url=target.throughput_url,
                    timeout=settings.http_timeout_s,
                    max_bytes=settings.throughput_max_bytes,
                    max_seconds=settings.throughput_timeout_s,
                ),
                backend,
            )
    await _maybe_traceroute(target, plan, backend, record)


async def _secure_path(target: Target, plan: ChainPlan, backend: Backend, record: _Record) -> None:
    settings = plan.settings
    system = _pick(_system(record, plan), settings.tcp_max_addresses)
    controls = [target.control_address] if target.control_address else []
    independent = usable(record.dns, system=False, exempt=plan.bogon_exempt)
    if independent and not set(independent) & set(_system(record, plan)):
        controls.extend(a for a in independent[:1] if a not in controls)
    kept: dict[str, Streams] = {}  # the system addresses' connections, for TLS
    try:
        record.tcp.extend(
            await _all(
                tcp.run(
                    tcp.Config(
                        clock=plan.clock,
                        address=address,
                        port=target.port,
                        timeout=settings.connect_timeout_s,
                        control=control,
                    ),
                    backend,
                    keep=None if control else kept,
                )
                for address, control in [(a, False) for a in system] + [(a, True) for a in controls]
            )
        )
        connected = next((r.address for r in record.tcp if not r.control and not r.failure), None)
        if connected is None:
            return
        handshake = tls.Config(
            clock=plan.clock,
            address=connected,
            port=target.port,
            sni=target.domain,
            timeout=settings.tls_timeout_s,
            decoy_sni=settings.decoy_sni,
        )
        port = "" if target.port == 443 else f":{target.port}"  # noqa: PLR2004 - HTTPS's port
        head = _http_config(plan, f"https://{target.domain}{port}{target.path}", connected, "HEAD")
        async with tls.connected(handshake, backend, kept[connected]) as (result, connection):
            record.tls.append(result)
            if connection is not None:
                record.http.append(await http.run(head, backend, connection))
    finally:
        for _, writer in kept.values():  # closed already, or never used: nothing owed
            writer.transport.abort()


async def _plain_http(target: Target, plan: ChainPlan, backend: Backend, record: _Record) -> None:
    if not target.http_domain:
        return
    address = None
    if target.http_domain == target.domain:
        system = _pick(_system(record, plan), 1)
        if not system:
            return  # DNS already failed; nothing of our own to fetch from
        address = system[0]
    port = "" if target.http_port == 80 else f":{target.http_port}"  # noqa: PLR2004 - HTTP's port
    url = f"http://{target.http_domain}{port}/"
    record.http.append(await http.run(_http_config(plan, url, address), backend))


def _http_config(
    plan: ChainPlan, url: str, address: str | None, method: FetchMethod = "GET"
) -> http.Config:
    return http.Config(
        clock=plan.clock,
        url=url,
        address=address,
        timeout=plan.settings.http_timeout_s,
        max_body_bytes=plan.settings.http_max_body_bytes,
        max_redirects=plan.settings.http_max_redirects,
        method=method,
    )


async def _maybe_traceroute(
    target: Target, plan: ChainPlan, backend: Backend, record: _Record
) -> None:
    if plan.traceroutes is None or judge(record, plan.bogon_exempt)[0] is None:
        return
    system = _pick(_system(record, plan), 1)
    if not system or not backend.can_traceroute():
        return
    if not plan.traceroutes.claim(target.id, time.monotonic()):
        return
    record.traceroute = await traceroute.run(
        traceroute.Config(
            clock=plan.clock,
            address=system[0],
            port=target.port,
            max_hops=plan.settings.traceroute_max_hops,
            timeout=plan.settings.traceroute_timeout_s,
        ),
        backend,
    )


def judge(
    record: "_Record | TargetResult", exempt: tuple[dns.Network, ...] = ()
) -> tuple[Layer | None, Failure | None]:
    """The first failing layer and its failure, by the rules of the module docstring.

    `exempt`: the networks that are never bogons (`ChainPlan.bogon_exempt`).
    """
    system_dns = [r for r in record.dns if r.resolver == SYSTEM]
    if not system_dns:
        return None, None  # not measured
    system = usable(record.dns, system=True, exempt=exempt)
    if not system:
        errors = (r.failure for r in system_dns if r.failure not in {None, failures.DNS_NO_ANSWER})
        failure = next(errors, None)
        if failure is None:
            bogons = any(r.bogon for r in system_dns)
            failure = failures.DNS_BOGON if bogons else failures.DNS_NO_ANSWER
        return Layer.DNS, failure
    layer, failure = _downstream(record)
    if layer is not None and _misled(record, layer, failure, exempt):
        return Layer.DNS, failure
    return layer, failure


def _downstream(record: "_Record | TargetResult") -> tuple[Layer | None, Failure | None]:
    tried = [r for r in record.tcp if not r.control]
    if tried and all(r.failure for r in tried):
        return Layer.TCP, tried[0].failure
    if record.tls and record.tls[0].failure:
        return Layer.TLS, record.tls[0].failure
    https = [h for h in record.http if h.url.startswith("https:")]
    if https and https[0].failure:
        return Layer.HTTP, https[0].failure
    if any(h.blockpage for h in record.http):
        return Layer.HTTP, failures.HTTP_REQUEST_FAILED
    return None, None


def _misled(
    record: "_Record | TargetResult",
    layer: Layer,
    failure: Failure | None,
    exempt: tuple[dns.Network, ...],
) -> bool:
    """The system resolver sent us to a server that is not the platform's."""
    independent = set(usable(record.dns, system=False, exempt=exempt))
    if not independent or independent & set(usable(record.dns, system=True, exempt=exempt)):
        return False
    if not any(r.control and r.failure is None for r in record.tcp):
        return False
    return layer == Layer.TCP or (layer == Layer.TLS and failure in tls.CERTIFICATE_FAILURES)


def usable(
    results: Iterable[DnsResult], *, system: bool, exempt: tuple[dns.Network, ...] = ()
) -> list[str]:
    """A resolver's answers that are not bogons, in order, IPv4 first; no duplicates."""
    chosen = [r for r in results if (r.resolver == SYSTEM) == system and r.failure is None]
    chosen.sort(key=lambda r: r.qtype != "A")
    found: dict[str, None] = {}
    for result in chosen:
        found.update(
            (a, None) for a in result.answers if not (result.bogon and dns.is_bogon(a, exempt))
        )
    return list(found)


def _system(record: _Record, plan: ChainPlan) -> list[str]:
    return usable(record.dns, system=True, exempt=plan.bogon_exempt)


def _ipv6_only(record: _Record, plan: ChainPlan) -> bool:
    """The system resolver's usable answers are all IPv6: the independent resolver's IPv4
    ones would share none with them, so its AAAA answers are asked for too."""
    system = _system(record, plan)
    return bool(system) and all(ipaddress.ip_address(a).version == 6 for a in system)  # noqa: PLR2004


def _pick(addresses: list[str], count: int) -> list[str]:
    """IPv4 addresses when there are any (many probes have no IPv6 route), else IPv6."""
    v4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]  # noqa: PLR2004
    return (v4 or addresses)[:count]


async def _all(steps: Iterable[Awaitable[T]]) -> list[T]:
    """Run measurement steps at once, results in order (each reports its own failures)."""
    return list(await asyncio.gather(*steps))
