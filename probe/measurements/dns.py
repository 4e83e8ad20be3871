"""DNS: one query (a name, A or AAAA) to the system resolver or an independent one."""

import asyncio
import ipaddress
from dataclasses import dataclass, replace
from typing import Literal

from balise.model import failures
from balise.model.results import DnsResult
from probe.backend import Backend
from probe.classify import MeasurementFailure, classify, classify_rcode
from probe.measurements.resolver import ResolverSpec
from probe.measurements.timing import RoundClock

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
QType = Literal["A", "AAAA"]


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    domain: str
    qtype: QType
    resolver: ResolverSpec | None  # None: the system resolver
    timeout: float
    bogon_exempt: tuple[Network, ...] = ()


async def run(config: Config, backend: Backend) -> DnsResult:
    t0 = config.clock.now()
    label = config.resolver.label() if config.resolver else "system"
    try:
        async with asyncio.timeout(config.timeout):
            resolver = config.resolver or backend.system_resolver()
            rcode, answers = await _query(config.domain, config.qtype, resolver, backend)
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        return DnsResult(
            t0=t0,
            t=config.clock.now(),
            failure=classify(exc),
            domain=config.domain,
            qtype=config.qtype,
            resolver=label,
        )
    failure = classify_rcode(rcode) or (None if answers else failures.DNS_NO_ANSWER)
    return DnsResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        domain=config.domain,
        qtype=config.qtype,
        resolver=label,
        rcode=rcode,
        answers=answers,
        bogon=any(is_bogon(answer, config.bogon_exempt) for answer in answers),
    )


async def lookup(name: str, backend: Backend) -> str:
    """One address for `name` from the system resolver (IPv4 first); raise on failure.

    For the hosts a measurement reaches on its way (redirects, the DoH server, a
    download's host): the system resolver is what a user's browser would ask. The
    caller bounds it with asyncio.timeout.
    """
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    resolver = backend.system_resolver()
    qtype: QType
    for qtype in ("A", "AAAA"):
        rcode, answers = await _query(name, qtype, resolver, backend)
        failure = classify_rcode(rcode)
        if failure is not None:
            raise MeasurementFailure(failure, f"{name} {qtype}: {rcode}")
        if answers:
            return answers[0]
    raise MeasurementFailure(failures.DNS_NO_ANSWER, f"{name} has no address")


def is_bogon(address: str, exempt: tuple[Network, ...] = ()) -> bool:
    """An address no public server has: private, reserved, loopback, link-local, multicast...

    `exempt` networks never count (the lab's documentation ranges, see MeasureSettings).
    """
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in exempt if network.version == ip.version):
        return False
    return not ip.is_global or ip.is_multicast


async def _query(
    domain: str, qtype: QType, resolver: ResolverSpec, backend: Backend
) -> tuple[str, tuple[str, ...]]:
    """Ask; return the response code and the addresses of type `qtype` in the answer."""
    import dns.message  # noqa: PLC0415 - lazy: dnspython is slow to import on a Pi Zero
    import dns.rcode  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    if resolver.kind == "doh" and resolver.address is None:
        resolver = replace(resolver, address=await lookup(resolver.host, backend))
    query = dns.message.make_query(domain, qtype)
    response = await backend.dns_query(query, resolver)
    wanted = dns.rdatatype.from_text(qtype)
    answers = tuple(
        rdata.to_text() for rrset in response.answer if rrset.rdtype == wanted for rdata in rrset
    )
    return dns.rcode.to_text(response.rcode()), answers
