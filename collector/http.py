"""The collector's HTTP application: /health now; the API and status page add routes here."""

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from collector.counters import Counters
from collector.http_guard import RateLimiter, guard
from collector.settings import HttpSettings

COUNTERS = web.AppKey("counters", Counters)


def make_app(counters: Counters, settings: HttpSettings | None = None) -> web.Application:
    """The application; with `settings`, behind the guard (tokens, size and rate limits)."""
    if settings is None:
        app = web.Application()
    else:
        rate = settings.rate_per_s
        app = web.Application(
            client_max_size=settings.max_body_bytes,
            middlewares=[
                guard(
                    admin_token=settings.admin_token(),
                    read_token=settings.read_token(),
                    limiter=RateLimiter(rate, burst=2 * rate) if rate > 0 else None,
                )
            ],
        )
    app[COUNTERS] = counters
    app.router.add_get("/health", health)
    return app


async def health(request: web.Request) -> web.Response:
    """The counters; 503 while the broker is disconnected or the store is failing."""
    counters = request.app[COUNTERS]
    ok = counters.mqtt_connected and counters.store_ok
    body = {"status": "ok" if ok else "degraded", **counters.snapshot()}
    return web.json_response(body, status=200 if ok else 503)


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve `app` on host:port; yield the port bound (useful with port 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        address = runner.addresses[0]
        yield int(address[1])
    finally:
        await runner.cleanup()
