"""Where a DNS query goes: the system resolver, a plain resolver or DNS over HTTPS.

Written as text in settings and results: `udp:ADDR:PORT` (`udp:[::1]:53` for IPv6),
`doh:https://host/path` (a bare `https://` URL is accepted too) or, for the
catalog's plain `resolver`, just `ADDR` or `ADDR:PORT`.
"""

import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

DNS_PORT = 53


@dataclass(frozen=True, slots=True)
class ResolverSpec:
    kind: Literal["udp", "doh"]
    address: str | None = None  # udp: the server; doh: the server's address once resolved
    port: int = DNS_PORT
    url: str | None = None  # doh only

    @property
    def host(self) -> str:
        """The name to look up before a DoH query; the address itself for udp."""
        if self.kind == "udp":
            return str(self.address)
        return urlsplit(self.url or "").hostname or ""

    def label(self) -> str:
        if self.kind == "doh":
            return f"doh:{self.url}"
        host = f"[{self.address}]" if ":" in str(self.address) else str(self.address)
        return f"udp:{host}:{self.port}"


def parse_resolver(text: str) -> ResolverSpec:
    """Parse a resolver's text form; raise ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("doh:"):
        text = text.removeprefix("doh:")
    if text.startswith("https://"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"DoH resolver {text!r} has no host")
        return ResolverSpec(kind="doh", url=text, address=_literal(parts.hostname))
    address, port = _split_host_port(text.removeprefix("udp:"))
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(
            f"resolver {text!r} is neither udp:ADDR:PORT with an IP address nor a https:// URL"
        ) from None
    return ResolverSpec(kind="udp", address=address, port=port)


def _split_host_port(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return host, DNS_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:  # noqa: PLR2004 - port range
        raise ValueError(f"resolver {text!r} has a bad port {port_text!r}")
    return host, int(port_text)


def _literal(host: str) -> str | None:
    """The host itself when it is an IP address: a DoH server that needs no lookup."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
