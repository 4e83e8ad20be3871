"""Measurement results, as the probe records them and the wire carries them.

Every result has the same frame: `t0` and `t`, seconds from the start of the
measurement round (monotonic clock), and `failure`, an OONI failure string or
`None` on success. Results are immutable once made.

`gc=False`: a result holds only immutable values, so it can never be part of a
reference cycle; untracked, the collector's many thousands of buffered results
cost the garbage collector nothing (docs/performance.md).
"""

from typing import Literal

import msgspec

from balise.model.failures import Failure
from balise.model.layers import Layer


class DnsResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One DNS query: a name, one record type, one resolver."""

    t0: float
    t: float
    failure: Failure | None = None
    domain: str
    qtype: Literal["A", "AAAA"]
    resolver: str  # "system", "doh:<url>" or "udp:<address>"
    rcode: str | None = None  # "NOERROR", "NXDOMAIN", ... when an answer came back
    answers: tuple[str, ...] = ()
    bogon: bool = False  # an answer is a private, reserved or loopback address


class TcpResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One TCP connect to one address."""

    t0: float
    t: float
    failure: Failure | None = None
    address: str
    port: int
    control: bool = False  # not from the system resolver: the catalog's control address or
    # the independent resolver's answer, to tell DNS tampering from IP blocking


class TlsResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One TLS handshake. `decoy` is the retry with a harmless SNI after a failure."""

    t0: float
    t: float
    failure: Failure | None = None
    address: str
    port: int
    sni: str
    version: str | None = None
    cert_valid: bool | None = None  # the chain verified and names the domain
    resumed: bool = False  # an earlier verified handshake's session: no chain was sent
    decoy: "TlsResult | None" = None


class HttpResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One HTTP request, HEAD over TLS or GET over plain HTTP, following redirects
    (`title` and `body_length` only when a body was read)."""

    t0: float
    t: float
    failure: Failure | None = None
    url: str
    status: int | None = None
    body_length: int | None = None
    title: str | None = None
    redirects: tuple[str, ...] = ()
    blockpage: str | None = None  # the hint that matched, when the page looks like a block page


class ThroughputResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A timed download of a sized object."""

    t0: float
    t: float
    failure: Failure | None = None
    url: str
    bytes: int = 0
    kbps: float | None = None


class AnchorResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Reachability of one anchor (gateway, resolver, domestic or international host)."""

    t0: float
    t: float
    failure: Failure | None = None
    anchor: str
    role: Literal["gateway", "resolver", "domestic", "international"]
    method: Literal["icmp", "tcp"]
    address: str
    rtt_ms: float | None = None


class Hop(msgspec.Struct, frozen=True, array_like=True, gc=False):
    ttl: int
    address: str | None
    rtt_ms: float | None


class TracerouteResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    t0: float
    t: float
    failure: Failure | None = None
    address: str
    port: int
    hops: tuple[Hop, ...] = ()


class TargetResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One target's chain DNS → TCP → TLS → HTTP in one round.

    `failed_layer` is the first layer of the chain that failed, `None` when no
    measured layer failed; `failure` is that layer's failure string (probe/chain.py
    says exactly how the layer is judged).
    """

    target: str  # catalog target id, e.g. "tiktok"
    control: bool = False  # a control target no censor blocks: its failure is the probe's own
    failed_layer: Layer | None = None
    failure: Failure | None = None
    dns: tuple[DnsResult, ...] = ()
    tcp: tuple[TcpResult, ...] = ()
    tls: tuple[TlsResult, ...] = ()
    http: tuple[HttpResult, ...] = ()
    throughput: ThroughputResult | None = None
    traceroute: TracerouteResult | None = None
    truncated: bool = False  # the round's deadline cut the chain short; unmeasured layers are empty
