"""What stands between the network and the collector's HTTP routes.

- Tokens: a request that changes anything (any method but GET/HEAD/OPTIONS) needs the
  admin token; reads of `/api/` need the read token when one is configured (the
  status page, `/api/status` and `/health` stay public). Tokens are compared in
  constant time and never logged.
- Size: request bodies are capped (aiohttp's `client_max_size`).
- Rate: a token bucket per client address; past it, 429 with Retry-After.
"""

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

PUBLIC = frozenset({"/", "/health", "/api/status", "/api/openapi.json"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class RateLimiter:
    rate_per_s: float
    burst: float
    max_clients: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def allow(self, client: str, now: float) -> bool:
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:  # forget the oldest: bounded memory
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate_per_s)
        bucket.stamp = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def guard(
    *, admin_token: str | None, read_token: str | None, limiter: RateLimiter | None
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if limiter is not None and not limiter.allow(request.remote or "?", time.monotonic()):
            raise web.HTTPTooManyRequests(
                text="too many requests; slow down", headers={"Retry-After": "1"}
            )
        given = _bearer(request)
        if request.method not in SAFE_METHODS:
            if admin_token is None or not _matches(given, admin_token):
                raise web.HTTPUnauthorized(
                    text="this request needs the admin token",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif (
            read_token is not None
            and request.path.startswith("/api/")
            and request.path not in PUBLIC
            and not (_matches(given, read_token) or (admin_token and _matches(given, admin_token)))
        ):
            raise web.HTTPUnauthorized(
                text="this request needs the read token", headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    return middleware
