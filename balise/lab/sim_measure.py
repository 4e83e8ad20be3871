"""What a probe measures in the simulated world: one round's target chains and anchors.

Each action kind leaves the traces a real probe would record (probe/chain.py
judges the same way): see docs/detection.md, "The simulator".
"""

import random
from dataclasses import dataclass

from balise.lab.scenario import (
    Action,
    BlockDns,
    BlockIp,
    BlockpageHttp,
    BlockSni,
    Loss,
    Shutdown,
    Throttle,
)
from balise.model import failures
from balise.model.failures import Failure
from balise.model.layers import Layer
from balise.model.results import (
    AnchorResult,
    DnsResult,
    HttpResult,
    TargetResult,
    TcpResult,
    ThroughputResult,
    TlsResult,
)

BLOCKPAGE_ADDRESS = "203.0.113.250"  # the censor's block-page server
BOGON_ADDRESS = "10.10.34.35"
DECOY_SNI = "example.org"
TIMEOUT_S = 3.0  # how long a dropped step waits before giving up


Service = BlockDns | BlockIp | BlockSni | BlockpageHttp | Throttle


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    domain: str
    address: str


@dataclass(frozen=True, slots=True)
class Conditions:
    """Everything in force for one probe at one moment."""

    shutdown: str | None = None  # "full" | "international"
    loss: float = 0.0  # probability that one measurement fails
    actions: tuple[Service, ...] = ()  # service actions on this probe's network
    down: frozenset[str] = frozenset()  # platforms in a global outage


def platforms(ids: tuple[str, ...]) -> tuple[Platform, ...]:
    return tuple(
        Platform(id=p, domain=f"www.{p}.example", address=f"198.51.100.{10 + n}")
        for n, p in enumerate(ids)
    )


def measure(
    platform: Platform, c: Conditions, rng: random.Random, base_kbps: float
) -> tuple[TargetResult, bool]:
    """One target's chain; True when a step had to wait for a timeout."""
    if c.shutdown is not None:
        failure: Failure = (
            failures.GENERIC_TIMEOUT if c.shutdown == "full" else failures.DNS_SERVER_FAILURE
        )
        return _dns_failed(platform, failure, rng), True
    if platform.id in c.down:
        return _tcp_failed(platform, failures.GENERIC_TIMEOUT), True
    for action in c.actions:
        if platform.id not in action.platforms:
            continue
        blocked = _blocked(platform, action)
        if blocked is not None:
            return blocked, _waits(blocked)
    if c.loss and rng.random() < c.loss:
        lost = _lost(platform, rng)
        return lost, True
    rate = base_kbps * rng.lognormvariate(0, 0.12)
    for action in c.actions:
        if isinstance(action, Throttle) and (
            not action.platforms or platform.id in action.platforms
        ):
            rate = min(rate, action.rate_kbps * rng.uniform(0.85, 1.0))
    return _ok(platform, rate), False


def anchors(country: str, c: Conditions, rng: random.Random) -> tuple[AnchorResult, ...]:
    out = []
    for anchor, role, address in (
        ("gateway", "gateway", "192.168.1.1"),
        ("resolver", "resolver", "192.168.1.53"),
        (f"national-{country.lower()}", "domestic", "192.0.2.53"),
        ("quad9", "international", "9.9.9.9"),
        ("cloudflare", "international", "1.1.1.1"),
    ):
        ok = role == "gateway" or _reachable(role, c.shutdown)
        if ok and role != "gateway" and c.loss and rng.random() < c.loss:
            ok = False
        out.append(
            AnchorResult(
                t0=0.0,
                t=0.02 if ok else TIMEOUT_S,
                failure=None if ok else failures.GENERIC_TIMEOUT,
                anchor=anchor,
                role=role,  # type: ignore[arg-type]
                method="tcp",
                address=address,
                rtt_ms=round(rng.uniform(2, 40), 1) if ok else None,
            )
        )
    return tuple(out)


def _reachable(role: str, shutdown: str | None) -> bool:
    if shutdown == "full":
        return False
    if shutdown == "international":
        return role != "international"
    return True


def _waits(result: TargetResult) -> bool:
    return result.failure == failures.GENERIC_TIMEOUT


def _system_dns(domain: str, answers: tuple[str, ...], **kw: object) -> DnsResult:
    return DnsResult(
        t0=0.0,
        t=0.02,
        domain=domain,
        qtype="A",
        resolver="system",
        answers=answers,
        **kw,  # type: ignore[arg-type]
    )


def _doh(p: Platform) -> DnsResult:
    return DnsResult(
        t0=0.0,
        t=0.05,
        domain=p.domain,
        qtype="A",
        resolver="doh:https://dns.example/dns-query",
        rcode="NOERROR",
        answers=(p.address,),
    )


def _tls(p: Platform, address: str, failure: Failure | None = None) -> TlsResult:
    if failure is None:
        return TlsResult(
            t0=0.1,
            t=0.2,
            address=address,
            port=443,
            sni=p.domain,
            version="TLSv1.3",
            cert_valid=True,
        )
    decoy = TlsResult(
        t0=0.3, t=0.4, address=address, port=443, sni=DECOY_SNI, version="TLSv1.3", cert_valid=False
    )
    waited = TIMEOUT_S if failure == failures.GENERIC_TIMEOUT else 0.05
    return TlsResult(
        t0=0.1,
        t=0.1 + waited,
        failure=failure,
        address=address,
        port=443,
        sni=p.domain,
        decoy=decoy,
    )


def _ok(p: Platform, kbps: float) -> TargetResult:
    return TargetResult(
        target=p.id,
        dns=(_system_dns(p.domain, (p.address,), rcode="NOERROR"), _doh(p)),
        tcp=(TcpResult(t0=0.06, t=0.09, address=p.address, port=443),),
        tls=(_tls(p, p.address),),
        http=(
            HttpResult(t0=0.2, t=0.4, url=f"https://{p.domain}/", status=200, body_length=48213),
            HttpResult(t0=0.06, t=0.2, url=f"http://{p.domain}/", status=301, body_length=0),
        ),
        throughput=ThroughputResult(
            t0=0.4,
            t=1.4,
            url=f"https://{p.domain}/sized.bin",
            bytes=int(kbps * 1000 / 8),
            kbps=round(kbps, 1),
        ),
    )


def _dns_failed(p: Platform, failure: Failure, rng: random.Random) -> TargetResult:
    del rng
    return TargetResult(
        target=p.id,
        failed_layer=Layer.DNS,
        failure=failure,
        dns=(_system_dns(p.domain, (), failure=failure),),
    )


def _tcp_failed(p: Platform, failure: Failure) -> TargetResult:
    waited = TIMEOUT_S if failure == failures.GENERIC_TIMEOUT else 0.03
    return TargetResult(
        target=p.id,
        failed_layer=Layer.TCP,
        failure=failure,
        dns=(_system_dns(p.domain, (p.address,), rcode="NOERROR"), _doh(p)),
        tcp=(TcpResult(t0=0.06, t=0.06 + waited, failure=failure, address=p.address, port=443),),
    )


def _blocked(p: Platform, action: Service) -> TargetResult | None:  # noqa: PLR0911 - one per mode
    if isinstance(action, BlockDns):
        if action.mode == "nxdomain":
            return TargetResult(
                target=p.id,
                failed_layer=Layer.DNS,
                failure=failures.DNS_NXDOMAIN,
                dns=(
                    _system_dns(p.domain, (), rcode="NXDOMAIN", failure=failures.DNS_NXDOMAIN),
                    _doh(p),
                ),
            )
        if action.mode == "bogon":
            return TargetResult(
                target=p.id,
                failed_layer=Layer.DNS,
                failure=failures.DNS_BOGON,
                dns=(_system_dns(p.domain, (BOGON_ADDRESS,), rcode="NOERROR", bogon=True), _doh(p)),
            )
        return TargetResult(  # the block page server answers instead of the platform
            target=p.id,
            failed_layer=Layer.DNS,
            failure=failures.SSL_INVALID_HOSTNAME,
            dns=(_system_dns(p.domain, (BLOCKPAGE_ADDRESS,), rcode="NOERROR"), _doh(p)),
            tcp=(
                TcpResult(t0=0.06, t=0.08, address=BLOCKPAGE_ADDRESS, port=443),
                TcpResult(t0=0.06, t=0.09, address=p.address, port=443, control=True),
            ),
            tls=(_tls(p, BLOCKPAGE_ADDRESS, failures.SSL_INVALID_HOSTNAME),),
            http=(_blockpage(p),),
        )
    if isinstance(action, BlockIp):
        return _tcp_failed(
            p, failures.GENERIC_TIMEOUT if action.mode == "drop" else failures.CONNECTION_REFUSED
        )
    if isinstance(action, BlockSni):
        failure: Failure = (
            failures.CONNECTION_RESET if action.mode == "reset" else failures.GENERIC_TIMEOUT
        )
        return TargetResult(
            target=p.id,
            failed_layer=Layer.TLS,
            failure=failure,
            dns=(_system_dns(p.domain, (p.address,), rcode="NOERROR"), _doh(p)),
            tcp=(TcpResult(t0=0.06, t=0.09, address=p.address, port=443),),
            tls=(_tls(p, p.address, failure),),
        )
    if isinstance(action, BlockpageHttp):
        return TargetResult(
            target=p.id,
            failed_layer=Layer.HTTP,
            failure=failures.HTTP_REQUEST_FAILED,
            dns=(_system_dns(p.domain, (p.address,), rcode="NOERROR"), _doh(p)),
            tcp=(TcpResult(t0=0.06, t=0.09, address=p.address, port=443),),
            tls=(_tls(p, p.address),),
            http=(
                HttpResult(
                    t0=0.2, t=0.4, url=f"https://{p.domain}/", status=200, body_length=48213
                ),
                _blockpage(p),
            ),
        )
    return None


def _blockpage(p: Platform) -> HttpResult:
    return HttpResult(
        t0=0.06,
        t=0.1,
        url=f"http://{p.domain}/",
        status=200,
        body_length=1324,
        title="Access restricted",
        blockpage="Access restricted",
    )


def _lost(p: Platform, rng: random.Random) -> TargetResult:
    """A measurement that random packet loss defeated: a timeout at some step."""
    layer = rng.choice((Layer.DNS, Layer.TCP, Layer.TLS))
    if layer == Layer.DNS:
        return _dns_failed(p, failures.GENERIC_TIMEOUT, rng)
    if layer == Layer.TCP:
        return _tcp_failed(p, failures.GENERIC_TIMEOUT)
    return TargetResult(
        target=p.id,
        failed_layer=Layer.TLS,
        failure=failures.GENERIC_TIMEOUT,
        dns=(_system_dns(p.domain, (p.address,), rcode="NOERROR"), _doh(p)),
        tcp=(TcpResult(t0=0.06, t=0.09, address=p.address, port=443),),
        tls=(_tls(p, p.address, failures.GENERIC_TIMEOUT),),
    )


def conditions(actions: tuple[Action, ...], down: frozenset[str]) -> Conditions:
    """Fold the actions in force on one probe's network into its conditions."""
    shutdown: str | None = None
    loss = 0.0
    services: list[Service] = []
    for action in actions:
        if isinstance(action, Shutdown):
            shutdown = "full" if action.mode == "full" or shutdown == "full" else "international"
        elif isinstance(action, Loss):
            loss = 1 - (1 - loss) * (1 - action.percent / 100)
        elif isinstance(action, BlockDns | BlockIp | BlockSni | BlockpageHttp | Throttle):
            services.append(action)
    return Conditions(shutdown=shutdown, loss=loss, actions=tuple(services), down=down)
