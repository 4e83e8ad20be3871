"""The web world of `balise bench probe`: every platform of the default catalog as the
field shows it to a probe, on loopback.

- HTTPS answers any path with a home page of `page_bytes` (100 kB by default: the probe
  asks for no compression, and a platform's home page is tens to hundreds of kB of
  HTML, inline scripts and styles) after ≈ 1.5 kB of headers (security policies,
  cookies), and `/blob/<n>` with n bytes (the throughput object), written a few kB at a
  time. HEAD answers the same headers without the body.
- Plain HTTP answers every request with a 301 to https:// of the same host and path,
  as the platforms do.
- The certificate chain has an intermediate, as every public one has: the leaf
  (ECDSA P-256, naming every host) is issued by an RSA-2048 intermediate under a root
  the probe trusts, and the server sends leaf and intermediate (`make_pki`).

Run as `python -m balise.bench.world SETTINGS.toml`. The lab's site
(`balise.lab.netns.site`) is the netns lab's: 200-byte pages, no redirect, no
intermediate, none of which its settings change.
"""

import asyncio
import re
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec
import trustme
from aiohttp import web

from balise.config import ConfigError, load_toml

MAX_BLOB = 50_000_000
_BLOB = re.compile(r"^/blob/(\d+)$")
_CHUNK = b"\0" * 4096
# What a platform's home page sends besides its status line: policies and cookies.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "private, no-cache, no-store, must-revalidate",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "Content-Security-Policy": (
        "default-src 'self' blob: data: *.platform.example; script-src 'self' 'unsafe-inline' "
        "'unsafe-eval' *.platform.example *.cdn.platform.example; style-src 'self' "
        "'unsafe-inline' *.cdn.platform.example; img-src 'self' blob: data: "
        "*.cdn.platform.example *.platform.example; connect-src 'self' wss://*.platform.example "
        "*.platform.example *.cdn.platform.example; frame-ancestors 'self'; "
        "report-uri https://csp.platform.example/report; upgrade-insecure-requests"
    ),
    "Permissions-Policy": (
        "accelerometer=(), camera=(self), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(self), payment=(), usb=(), interest-cohort=()"
    ),
    "Reporting-Endpoints": 'default="https://report.platform.example/endpoint?v=3"',
    "Cross-Origin-Opener-Policy": "same-origin-allow-popups",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "origin-when-cross-origin",
    "Set-Cookie": (
        "session=Aa0Bb1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2Nn3Oo4Pp5Qq6Rr7Ss8Tt9Uu0Vv1Ww2Xx3Yy4Zz5; "
        "expires=Tue, 23-Nov-2027 06:00:00 GMT; Max-Age=31536000; path=/; "
        "domain=.platform.example; secure; HttpOnly; SameSite=None"
    ),
    "Alt-Svc": 'h3=":443"; ma=86400',
    "Vary": "Accept-Encoding",
}
MOVED_PAGE = (
    '<HTML><HEAD><meta http-equiv="content-type" content="text/html;charset=utf-8">\n'
    "<TITLE>301 Moved</TITLE></HEAD><BODY>\n<H1>301 Moved</H1>\nThe document has moved\n"
    '<A HREF="{location}">here</A>.\r\n</BODY></HTML>\r\n'
)


class WorldSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    address: str
    http_port: int
    https_port: int
    pem: str  # the servers' key and certificate chain
    page_bytes: int = 100_000


@dataclass(frozen=True, slots=True)
class WorldPki:
    ca_file: Path  # the root the probe trusts (`measure.ca_file`)
    pem: Path  # key, leaf and intermediate, for the world's servers


def make_pki(directory: Path, names: list[str]) -> WorldPki:
    """A root, an intermediate and one leaf naming every host in `names`."""
    directory.mkdir(parents=True, exist_ok=True)
    root = trustme.CA(organization_name="Balise bench root", key_type=trustme.KeyType.RSA)
    intermediate = root.create_child_ca(key_type=trustme.KeyType.RSA)
    leaf = intermediate.issue_cert(*names, key_type=trustme.KeyType.ECDSA)
    pki = WorldPki(ca_file=directory / "ca.pem", pem=directory / "world.pem")
    root.cert_pem.write_to_path(str(pki.ca_file))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(pki.pem))
    return pki


def page(title: str, size: int) -> bytes:
    """An HTML page of `size` bytes (at least its frame) titled `title`."""
    head = f"<!doctype html><html><head><title>{title}</title></head><body>".encode()
    tail = b"</body></html>"
    filler = b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n"
    room = max(size - len(head) - len(tail), 0)
    return head + (filler * (room // len(filler) + 1))[:room] + tail


def _https_app(settings: WorldSettings) -> web.Application:
    async def answer(request: web.Request) -> web.StreamResponse:
        blob = _BLOB.match(request.path)
        if blob:
            return await _blob(request, min(int(blob.group(1)), MAX_BLOB))
        body = page(request.host.split(":")[0], settings.page_bytes)
        return web.Response(body=body, headers=PAGE_HEADERS)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)  # HEAD too: the same headers, no body
    return app


async def _blob(request: web.Request, size: int) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    )
    await response.prepare(request)
    while request.method == "GET" and size > 0:
        chunk = _CHUNK[: min(size, len(_CHUNK))]
        await response.write(chunk)
        size -= len(chunk)
    return response


def _http_app(settings: WorldSettings) -> web.Application:
    async def moved(request: web.Request) -> web.StreamResponse:
        host = request.host.split(":")[0]
        port = "" if settings.https_port == 443 else f":{settings.https_port}"  # noqa: PLR2004 - HTTPS's port
        location = f"https://{host}{port}{request.path_qs}"
        return web.Response(
            status=301,
            text=MOVED_PAGE.format(location=location),
            content_type="text/html",
            headers={"Location": location, "X-Frame-Options": "SAMEORIGIN"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", moved)
    return app


async def serve(settings: WorldSettings) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings.pem)
    runners = [web.AppRunner(_https_app(settings)), web.AppRunner(_http_app(settings))]
    try:
        for runner in runners:
            await runner.setup()
        await web.TCPSite(
            runners[0], settings.address, settings.https_port, ssl_context=context
        ).start()
        await web.TCPSite(runners[1], settings.address, settings.http_port).start()
        await asyncio.Event().wait()  # until the process is terminated
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str]) -> int:
    try:
        settings = load_toml(Path(argv[1]), WorldSettings)
        asyncio.run(serve(settings))
    except (ConfigError, OSError, ssl.SSLError, IndexError) as exc:
        sys.stderr.write(f"world: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
