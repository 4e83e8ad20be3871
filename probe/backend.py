"""The probe's network backend: every socket, DNS query and HTTP request goes through it.

Measurements get a `Backend` and never touch the network themselves, so a test (or
the lab) substitutes its own: subclass `NetworkBackend` and override a method, e.g.
`open_stream` to refuse every connection. `NetworkBackend` holds no connection
between calls: each measurement opens fresh sockets, as a measurement should. Two
exceptions spare the probe's data plan handshakes that would tell nothing more: the
measured TLS handshake's connection, which its caller hands to the HTTPS HEAD that
follows (`TlsConnection`), as a browser would, and which is itself the measured TCP
connect's; and the independent resolver's DoH
server, to which queries go over one kept-alive connection (`httpclient.Session`), a
tool of the measurement rather than what is measured.

Heavy libraries (dnspython's resolver, scapy) and the HTTP client (probe/httpclient.py,
on h11) are imported on first use so the probe starts fast on a Pi Zero.
"""

import asyncio
import contextlib
import ipaddress
import os
import random
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from balise.model.failures import DNS_SERVER_FAILURE, HTTP_REQUEST_FAILED
from balise.model.results import Hop
from probe.classify import MeasurementFailure
from probe.measurements.resolver import ResolverSpec, parse_resolver
from probe.tlsresume import ResumingContext

if TYPE_CHECKING:
    import dns.message

    from probe.httpclient import Session
    from probe.measure_settings import MeasureSettings

RESOLV_CONF = Path("/etc/resolv.conf")
ROUTE_TABLE = Path("/proc/net/route")
USER_AGENT = "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko)"
_RTF_GATEWAY = 0x2
_DOH_MAX_BYTES = 65_535
_ICMP_ECHO = {socket.AF_INET: (8, 0), socket.AF_INET6: (128, 129)}  # (request, reply) types


@dataclass(frozen=True, slots=True)
class Fetched:
    """One HTTP response, redirects not followed."""

    status: int
    location: str | None  # the Location header, as sent
    body: bytes  # the first `keep_bytes` of the body
    length: int  # body bytes read; reading stops at `max_bytes`
    seconds: float  # from request to the last byte read


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
FetchMethod = Literal["GET", "HEAD"]


@dataclass(frozen=True, slots=True)
class TlsConnection:
    """A connection after a successful handshake, open for one HTTPS request."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    version: str  # the negotiated TLS version, e.g. "TLSv1.3"
    resumed: bool = False  # an earlier connection's session, so no certificate was sent

    def close(self) -> None:
        """Drop the connection (idempotent); nothing is owed to the server."""
        self.writer.transport.abort()


class Backend(Protocol):
    """Network I/O for measurements. Callers bound each call with asyncio.timeout."""

    def system_resolver(self) -> ResolverSpec: ...

    async def dns_query(
        self, query: "dns.message.Message", resolver: ResolverSpec
    ) -> "dns.message.Message": ...

    async def open_stream(self, address: str, port: int) -> Streams: ...

    async def connect(self, address: str, port: int) -> None: ...

    async def tls_connect(
        self, address: str, port: int, sni: str, *, verify: bool, stream: Streams | None = None
    ) -> TlsConnection: ...

    async def fetch(
        self,
        url: str,
        address: str,
        *,
        keep_bytes: int,
        max_bytes: int,
        max_seconds: float | None,
        connection: TlsConnection | None = None,
        method: FetchMethod = "GET",
    ) -> Fetched: ...

    async def ping(self, address: str) -> float: ...

    def default_gateway(self) -> str | None: ...

    def can_traceroute(self) -> bool: ...

    async def traceroute(
        self, address: str, port: int, *, max_hops: int, wait_s: float
    ) -> tuple[Hop, ...]: ...


def load_libraries() -> None:
    """Import the lazily loaded libraries now, so no measured step pays for it.

    Blocking (seconds on a Pi Zero, the first time): run it in a thread.
    """
    import dns.asyncquery  # noqa: PLC0415
    import dns.message  # noqa: PLC0415
    import dns.rcode  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415
    import dns.resolver  # noqa: F401, PLC0415

    import probe.httpclient  # noqa: F401, PLC0415


class NetworkBackend:
    """The real network, as seen from this host (or this network namespace)."""

    def __init__(
        self,
        *,
        system_resolver: str | None = None,
        ca_file: str | None = None,
        doh_idle_s: float = 20.0,
        resolv_conf: Path = RESOLV_CONF,
        route_table: Path = ROUTE_TABLE,
    ) -> None:
        """`doh_idle_s`: a DoH connection idle this long is closed rather than reused."""
        self._doh_idle_s = doh_idle_s
        self._system_override = parse_resolver(system_resolver) if system_resolver else None
        self._resolv_conf = resolv_conf
        self._route_table = route_table
        self._verifying = _verifying_context()
        if ca_file:
            self._verifying.load_verify_locations(cafile=ca_file)
        # Verifying nothing, it needs no CA store (each loaded copy costs a Pi Zero ~1 MB).
        self._unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._unverified.check_hostname = False
        self._unverified.verify_mode = ssl.CERT_NONE
        self._doh: dict[tuple[str, str], Session] = {}  # (URL, address) → its connection

    @classmethod
    def from_settings(cls, settings: "MeasureSettings") -> "NetworkBackend":
        return cls(
            system_resolver=settings.system_resolver,
            ca_file=settings.ca_file,
            doh_idle_s=settings.doh_idle_s,
        )

    def system_resolver(self) -> ResolverSpec:
        """The resolver the system uses: the override, else resolv.conf's first nameserver.

        resolv.conf is read on every call so a DHCP change (or `ip netns exec`'s
        per-namespace file) is seen at the next round.
        """
        if self._system_override is not None:
            return self._system_override
        import dns.resolver  # noqa: PLC0415 - lazy: dnspython's resolver is slow to import

        resolver = dns.resolver.Resolver(filename=str(self._resolv_conf))
        return ResolverSpec(kind="udp", address=str(resolver.nameservers[0]), port=resolver.port)

    async def dns_query(
        self, query: "dns.message.Message", resolver: ResolverSpec
    ) -> "dns.message.Message":
        if resolver.kind == "doh":
            return await self._doh_query(query, resolver)
        import dns.asyncquery  # noqa: PLC0415 - lazy, see the module docstring

        response, _ = await dns.asyncquery.udp_with_fallback(
            query, str(resolver.address), port=resolver.port
        )
        return response

    async def _doh_query(
        self, query: "dns.message.Message", resolver: ResolverSpec
    ) -> "dns.message.Message":
        """RFC 8484: the query in wire format, POSTed as application/dns-message."""
        import dns.message  # noqa: PLC0415 - lazy, see the module docstring

        if resolver.url is None or resolver.address is None:
            raise ValueError(f"DoH resolver {resolver} has no URL or no address")
        from probe.httpclient import Session, Target  # noqa: PLC0415 - lazy, see the docstring

        query.id = 0  # RFC 8484 4.1: cache-friendly
        target = Target.of(resolver.url)
        address = resolver.address
        session = self._doh.get((resolver.url, address))
        if session is None:

            async def connect() -> Streams:
                opened = await self.tls_connect(address, target.port, target.host, verify=True)
                return opened.reader, opened.writer

            session = Session(connect, idle_s=self._doh_idle_s)
            self._doh[resolver.url, address] = session
        reply = await session.request(
            target,
            method="POST",
            headers={
                "Content-Type": "application/dns-message",
                "Accept": "application/dns-message",
            },
            body=query.to_wire(),
            keep_bytes=_DOH_MAX_BYTES,
            max_bytes=_DOH_MAX_BYTES,
        )
        if reply.status >= 400:  # noqa: PLR2004 - HTTP's error statuses
            raise MeasurementFailure(HTTP_REQUEST_FAILED, f"the DoH server said {reply.status}")
        answer = dns.message.from_wire(reply.body)
        if not query.is_response(answer):
            raise MeasurementFailure(DNS_SERVER_FAILURE, "the DoH answer is not for our query")
        return answer

    async def open_stream(self, address: str, port: int) -> Streams:
        """A TCP connection; what every connect and TLS handshake starts with."""
        return await asyncio.open_connection(address, port)

    async def connect(self, address: str, port: int) -> None:
        _, writer = await self.open_stream(address, port)
        await _close(writer)

    async def tls_connect(
        self, address: str, port: int, sni: str, *, verify: bool, stream: Streams | None = None
    ) -> TlsConnection:
        """Handshake with `sni` over `stream`, else over a new connection to `address`;
        raise on any failure. The caller closes the connection.

        With `verify`, the certificate must chain to a trusted CA and name `sni`, and the
        session of an earlier verified connection to `sni` is resumed when its server allows
        (`resumed`, probe/tlsresume.py).
        """
        context = self._verifying if verify else self._unverified
        reader, writer = stream or await self.open_stream(address, port)
        try:
            await writer.start_tls(context, server_hostname=sni)
        except BaseException:
            # After a failed start_tls, wait_closed() may never return: just drop it.
            writer.transport.abort()
            raise
        tls = writer.get_extra_info("ssl_object")
        if tls is None:
            return TlsConnection(reader, writer, "unknown")
        return TlsConnection(reader, writer, str(tls.version()), resumed=tls.session_reused)

    async def fetch(
        self,
        url: str,
        address: str,
        *,
        keep_bytes: int,
        max_bytes: int,
        max_seconds: float | None,
        connection: TlsConnection | None = None,
        method: FetchMethod = "GET",
    ) -> Fetched:
        """GET (or HEAD) `url` from `address` (whatever DNS says of its host), no redirects.

        Over `connection` when given: a verified handshake with the URL's host at
        `address` (`tls_connect`), which the request then closes. Reading stops without
        error after `max_bytes` or `max_seconds`.
        """
        from probe.httpclient import Target, exchange  # noqa: PLC0415 - lazy, see the docstring

        target = Target.of(url)
        if connection is not None:
            reader, writer = connection.reader, connection.writer
        elif target.scheme == "https":
            opened = await self.tls_connect(address, target.port, target.host, verify=True)
            reader, writer = opened.reader, opened.writer
        else:
            reader, writer = await self.open_stream(address, target.port)
        reply = await exchange(
            reader,
            writer,
            target,
            method=method,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            keep_bytes=keep_bytes,
            max_bytes=max_bytes,
            max_seconds=max_seconds,
        )
        return Fetched(
            status=reply.status,
            location=reply.location,
            body=reply.body,
            length=reply.length,
            seconds=reply.seconds,
        )

    async def ping(self, address: str) -> float:
        """One ICMP echo through an unprivileged ping socket; the round-trip time in seconds.

        Raises PermissionError when net.ipv4.ping_group_range excludes this process.
        """
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET  # noqa: PLR2004
        proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
        request_type, reply_type = _ICMP_ECHO[family]
        sequence = random.randrange(1 << 16)  # noqa: S311 - matches a reply, not a secret
        # The kernel fills in the identifier and the checksum of a ping socket's echo.
        packet = struct.pack("!BBHHH", request_type, 0, 0, 0, sequence) + b"balise"
        loop = asyncio.get_running_loop()
        with socket.socket(family, socket.SOCK_DGRAM, proto) as sock:
            sock.setblocking(False)  # noqa: FBT003 - the socket API's own signature
            started = time.monotonic()
            await loop.sock_sendto(sock, packet, (address, 0))
            while True:
                data = await loop.sock_recv(sock, 1024)
                if data[:1] == bytes([reply_type]) and data[6:8] == packet[6:8]:
                    return time.monotonic() - started

    def default_gateway(self) -> str | None:
        """The IPv4 default route's gateway, from the kernel's routing table."""
        try:
            lines = self._route_table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            return None
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1] == "00000000" and int(fields[3], 16) & _RTF_GATEWAY:  # noqa: PLR2004
                return socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
        return None

    def can_traceroute(self) -> bool:
        """Traceroute crafts raw packets: it needs CAP_NET_RAW (root, or the hardened
        unit's one capability) and the optional scapy."""
        return has_net_raw() and find_spec("scapy") is not None

    async def traceroute(
        self, address: str, port: int, *, max_hops: int, wait_s: float
    ) -> tuple[Hop, ...]:
        return await asyncio.to_thread(_tcp_traceroute, address, port, max_hops, wait_s)


def _verifying_context() -> ResumingContext:
    """What `ssl.create_default_context()` makes, resuming sessions (probe/tlsresume.py) and
    trusting the system's CA directory,
    from which OpenSSL reads a root when a handshake needs it, rather than its bundle,
    which costs a Pi Zero 2.5 MB to hold parsed (docs/performance.md). A system without
    the directory (`openssl rehash`, kept by update-ca-certificates) loads the bundle."""
    context = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
    directory = ssl.get_default_verify_paths().capath  # None when there is no such directory
    if directory:
        context.load_verify_locations(capath=directory)
    else:
        context.load_default_certs()
    return context


CAP_NET_RAW = 13  # linux/capability.h


def has_net_raw(status: Path = Path("/proc/self/status")) -> bool:
    """The effective capability set holds CAP_NET_RAW."""
    try:
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    except (OSError, ValueError):
        pass
    return os.geteuid() == 0


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):  # the peer's way of closing does not matter
        await writer.wait_closed()


def _tcp_traceroute(address: str, port: int, max_hops: int, wait_s: float) -> tuple[Hop, ...]:
    """TCP SYN probes with TTL 1..max_hops, all sent at once (blocking: run in a thread)."""
    from scapy.layers.inet import IP, TCP  # noqa: PLC0415 - optional, heavy, root only
    from scapy.sendrecv import sr  # noqa: PLC0415

    probes = IP(dst=address, ttl=(1, max_hops)) / TCP(dport=port, flags="S")
    answered, _ = sr(probes, timeout=wait_s, verbose=0)
    replies = {
        int(sent.ttl): Hop(
            int(sent.ttl),
            str(reply.src),
            round((float(reply.time) - float(sent.sent_time or reply.time)) * 1e3, 2),
        )
        for sent, reply in answered
    }
    hops: list[Hop] = []
    for ttl in range(1, max_hops + 1):
        hops.append(replies.get(ttl, Hop(ttl, None, None)))
        if hops[-1].address == address:
            break
    while hops and hops[-1].address is None:
        hops.pop()
    return tuple(hops)
