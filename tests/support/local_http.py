"""Loopback web servers (aiohttp): a platform, a censor's block page, redirects, DoH.

One app answers by Host header, so the same server plays several sites:
- `blockpage.test`: a block page (200, "Access to this site has been blocked");
- `redirect.test`: a 302 to the Indonesian block-page host;
- anything else: the platform, with `/`, `/hop` (redirects twice), `/big`
  (BIG_BYTES), `/slow` (a trickle that never ends), `/cut` (a truncated body)
  and `/dns-query` (DNS over HTTPS answered from `records`).
"""

import asyncio
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import dns.message
from aiohttp import web

from tests.support.local_dns import answer

PLATFORM_PAGE = "<html><head><title>The Platform</title></head><body>hello</body></html>"
BLOCK_PAGE = (
    "<html><head><title>Internet Positif</title></head>"
    "<body>Access to this site has been blocked by order of the ministry.</body></html>"
)
BIG_BYTES = 600_000


RECORDS = web.AppKey("records", dict[str, tuple[str, ...]])


async def page(request: web.Request) -> web.StreamResponse:
    host = (request.host or "").split(":")[0]
    if host == "blockpage.test":
        return web.Response(text=BLOCK_PAGE, content_type="text/html")
    if host == "redirect.test":
        raise web.HTTPFound("http://lamanlabuh.aduankonten.id/")
    return web.Response(text=PLATFORM_PAGE, content_type="text/html")


async def hop(request: web.Request) -> web.StreamResponse:
    step = int(request.query.get("n", "0"))
    if step < 2:  # two redirects, then the page
        raise web.HTTPFound(f"/hop?n={step + 1}")
    return web.Response(text=PLATFORM_PAGE, content_type="text/html")


async def big(_: web.Request) -> web.StreamResponse:
    return web.Response(body=b"x" * BIG_BYTES, content_type="application/octet-stream")


async def slow(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    while True:
        await response.write(b"y" * 1000)
        await asyncio.sleep(0.05)


async def cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "100000"})
    await response.prepare(request)
    await response.write(b"z" * 1000)
    assert request.transport is not None
    request.transport.close()
    return response


async def doh(request: web.Request) -> web.StreamResponse:
    query = dns.message.from_wire(await request.read())
    records = request.app[RECORDS]
    reply = answer(query, records)
    return web.Response(body=reply.to_wire(), content_type="application/dns-message")


def make_app(records: dict[str, tuple[str, ...]] | None = None) -> web.Application:
    app = web.Application()
    app[RECORDS] = records or {}
    app.router.add_get("/", page)
    app.router.add_get("/hop", hop)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/cut", cut)
    app.router.add_post("/dns-query", doh)
    return app


@dataclass
class LocalWeb:
    app: web.Application
    host: str = "127.0.0.1"
    port: int = 0
    context: ssl.SSLContext | None = None
    _runner: web.AppRunner | None = field(default=None, init=False)

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.context)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
