"""How the probe measures: timeouts, limits and overrides, the `[measure]` settings table."""

import ipaddress
from typing import Annotated

import msgspec

from probe.measurements.resolver import parse_resolver

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Count = Annotated[int, msgspec.Meta(ge=1)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]

# The lab gives its real hosts addresses in the documentation ranges (RFC 5737); Python
# counts them as private, so without this exemption every lab answer would be a bogon.
# No real resolver hands these out, so exempting them costs nothing in the field.
DOCUMENTATION_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


class MeasureSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dns_timeout_s: Seconds = 4.0
    connect_timeout_s: Seconds = 5.0
    tls_timeout_s: Seconds = 5.0
    http_timeout_s: Seconds = 10.0  # one HTTP fetch, redirects included
    anchor_timeout_s: Seconds = 2.0
    throughput_timeout_s: Seconds = 8.0  # the download stops here and reports its rate
    throughput_max_bytes: Count = 256_000  # a metered SIM's budget (docs/performance.md)
    http_max_body_bytes: Count = 16_384  # the plain-HTTP page: a block page's words come early
    http_max_redirects: Annotated[int, msgspec.Meta(ge=0)] = 10
    tcp_max_addresses: Count = 2  # resolved addresses tried per target
    decoy_sni: str = "example.org"  # the harmless name tried after a TLS failure
    ca_file: str | None = None  # an extra trusted CA (the lab's or a test's), added to the system's
    system_resolver: str | None = None  # "udp:ADDR:PORT"; None reads /etc/resolv.conf each round
    independent_resolver: str | None = None  # overrides the catalog's doh_url / resolver
    doh_idle_s: Seconds = 20.0  # a DoH connection idle longer is reopened (NATs forget flows)
    concurrency: Count = 4  # targets measured at once
    round_deadline_s: Seconds = 45.0  # a round stops here, keeping what it measured
    bogon_exempt: tuple[str, ...] = DOCUMENTATION_NETWORKS
    icmp: bool = True  # ping anchors when ping sockets are allowed, else TCP connect
    anchor_port: Port = 80  # TCP port for an anchor that gives none (e.g. the gateway)
    traceroute: bool = True  # toward a failing target; needs root and scapy
    traceroute_every_s: Seconds = 1800.0  # at most one per target in this long
    traceroute_max_hops: Count = 20
    traceroute_timeout_s: Seconds = 3.0

    def __post_init__(self) -> None:
        for name in ("system_resolver", "independent_resolver"):
            text = getattr(self, name)
            if text is not None:
                try:
                    spec = parse_resolver(text)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
                if name == "system_resolver" and spec.kind != "udp":
                    raise ValueError(f"system_resolver: must be udp:ADDR:PORT, not {text!r}")
        for network in self.bogon_exempt:
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise ValueError(f"bogon_exempt: {network!r} is not a network") from None
