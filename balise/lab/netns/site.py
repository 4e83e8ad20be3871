"""A lab web site: a platform, an anchor, a national site or an ISP's block page.

Run inside a namespace as `python -m balise.lab.netns.site SETTINGS.toml`. It serves
plain HTTP and, with a certificate, HTTPS on each of its addresses; `/blob/<n>`
answers n bytes (the throughput object). Prints `ready` once it listens.
Built on the standard library's threaded HTTP server: it starts in a tenth of a
second, and a lab starts a dozen of them.
"""

import html
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import msgspec

from balise.config import ConfigError, load_toml
from balise.lab.netns.processes import announce_ready

MAX_BLOB = 50_000_000
_BLOB = re.compile(r"^/blob/(\d+)$")
# Written a few kB at a time, so each write is a TLS record of its own (as CDNs size
# records small on slow lines): a download the probe cuts short at its time cap
# still counts what arrived, instead of nothing when a 16 kB record is half-way.
_CHUNK = b"\0" * 4096
_CLIENT_TIMEOUT_S = 30  # a stalled client must not hold a thread forever
BLOCKPAGE_TEXT = "This website has been blocked by order of the authorities."


class SiteSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: str
    addresses: tuple[str, ...]
    pem: str | None = None  # key and certificate chain; None: no HTTPS
    http_port: int = 80
    https_port: int = 443
    blockpage: bool = False  # answer every request with a block page


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _CLIENT_TIMEOUT_S

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        blob = _BLOB.match(self.path)
        settings = cast("_Server", self.server).settings
        if blob and not settings.blockpage:
            self._blob(min(int(blob.group(1)), MAX_BLOB), send_body=send_body)
            return
        body = _page(settings).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _blob(self, size: int, *, send_body: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        while send_body and size > 0:
            chunk = _CHUNK[: min(size, len(_CHUNK))]
            self.wfile.write(chunk)
            size -= len(chunk)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's signature
        """Requests are not logged: the probes make thousands of them."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], settings: SiteSettings, tls: ssl.SSLContext | None
    ) -> None:
        self.settings = settings
        self.tls = tls
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - base
        """The TLS handshake happens here, in the connection's own thread."""
        request.settimeout(_CLIENT_TIMEOUT_S)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # a probe hung up or a censor reset the handshake: nothing to serve
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - base
        """A client that goes away mid-answer is normal here (resets, throttling, timeouts)."""


def _page(settings: SiteSettings) -> str:
    if settings.blockpage:
        return (
            "<!doctype html><html><head><title>Access denied</title></head>"
            f"<body><h1>Access denied</h1><p>{BLOCKPAGE_TEXT}</p></body></html>"
        )
    title = html.escape(settings.title)
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>Welcome to {title}.</p></body></html>"
    )


def _tls(settings: SiteSettings) -> ssl.SSLContext | None:
    if settings.pem is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings.pem)
    return context


def serve(settings: SiteSettings) -> list[_Server]:
    tls = _tls(settings)
    servers = [_Server((a, settings.http_port), settings, None) for a in settings.addresses]
    if tls is not None:
        servers += [_Server((a, settings.https_port), settings, tls) for a in settings.addresses]
    for number, server in enumerate(servers):
        name = f"serve:{number}"
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return servers


def main(argv: list[str]) -> int:
    try:
        settings = load_toml(Path(argv[1]), SiteSettings)
        serve(settings)
    except (ConfigError, OSError, ssl.SSLError, IndexError) as exc:
        sys.stderr.write(f"site: {exc}\n")
        return 2
    announce_ready()
    threading.Event().wait()  # until SIGTERM or SIGKILL
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
