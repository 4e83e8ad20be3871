"""What a vantage point sees: small blocking clients whose sockets live in a lab namespace."""

import contextlib
import errno
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

from balise.lab.netns.nftrules import table_name
from balise.lab.netns.nsenter import socket_in

TIMEOUT_S = 2.0
_LAB_TABLE = re.compile(rf"\b{table_name(0)[:-1]}\d+\b")  # balise_a<action index>


_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionResetError, "reset"),
    (ConnectionRefusedError, "refused"),
    (TimeoutError, "timeout"),
    (ssl.SSLCertVerificationError, "bad-certificate"),
    (ssl.SSLError, "tls-error"),
)


def _outcome(exc: BaseException) -> str:
    for kind, outcome in _OUTCOMES:
        if isinstance(exc, kind):
            return outcome
    if isinstance(exc, OSError) and exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}:
        return "unreachable"
    return type(exc).__name__


def connect(ns: str, address: str, port: int, timeout: float = TIMEOUT_S) -> socket.socket:
    sock = socket_in(ns)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def tcp(ns: str, address: str, port: int, timeout: float = TIMEOUT_S) -> str:
    try:
        connect(ns, address, port, timeout).close()
    except OSError as exc:
        return _outcome(exc)
    return "ok"


def tls(
    ns: str,
    address: str,
    sni: str,
    *,
    ca_file: Path | None = None,
    timeout: float = TIMEOUT_S,
) -> str:
    """A TLS handshake: "ok", "reset", "timeout", "bad-certificate", ..."""
    if ca_file is None:  # only whether a handshake completes, whatever the certificate
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with (
            connect(ns, address, 443, timeout) as sock,
            context.wrap_socket(sock, server_hostname=sni),
        ):
            return "ok"
    except OSError as exc:
        return _outcome(exc)


def https_get(
    ns: str, address: str, host: str, path: str = "/", *, ca_file: Path, timeout: float = 5.0
) -> bytes:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        connect(ns, address, 443, timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls_sock,
    ):
        return _get(tls_sock, host, path)


def http_get(ns: str, address: str, host: str, path: str = "/", timeout: float = 5.0) -> bytes:
    with connect(ns, address, 80, timeout) as sock:
        return _get(sock, host, path)


def _get(sock: socket.socket, host: str, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def download_kbps(ns: str, address: str, host: str, size: int, *, ca_file: Path) -> float:
    started = time.monotonic()
    body = https_get(ns, address, host, f"/blob/{size}", ca_file=ca_file, timeout=30)
    elapsed = time.monotonic() - started
    assert len(body) > size, "the download came back short"
    return size * 8 / 1000 / elapsed


def resolve(ns: str, resolver: str, name: str, timeout: float = TIMEOUT_S) -> tuple[str, list[str]]:
    """(rcode, A addresses) of one query, or ("timeout", [])."""
    sock = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        try:
            answer = dns.query.udp(
                dns.message.make_query(name, "A"), resolver, timeout=timeout, sock=sock
            )
        except dns.exception.Timeout:
            return "timeout", []
    addresses = [r.address for rrset in answer.answer for r in rrset]
    return dns.rcode.to_text(answer.rcode()), addresses


def dns_answers(ns: str, server: str, name: str, count: int) -> int:
    """Send `count` queries at once (one datagram each way); how many answers came back."""
    sock = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
    received = 0
    with sock:
        sock.settimeout(1.0)
        for _ in range(count):
            sock.sendto(dns.message.make_query(name, "A").to_wire(), (server, 53))
        with contextlib.suppress(TimeoutError):
            while received < count:
                sock.recv(512)
                received += 1
    return received


def netns_list() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def root_lab_tables() -> list[str]:
    """The root namespace's nftables tables named like the lab's (an action's table).

    Only those: another program (a benchmark counting its traffic) may add and remove
    tables of its own in the meantime.
    """
    listing = subprocess.run(
        ["nft", "list", "tables"], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in listing.splitlines() if _LAB_TABLE.search(line)]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if text in args:
                found.append(args)
    return found
