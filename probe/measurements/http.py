"""HTTP: one GET or HEAD, following redirects hop by hop, pinned to known addresses.

Redirects are followed here, one request per hop (probe/httpclient.py), so that every
hop's target is recorded even when the next hop fails, and a redirect to a known block-page host is
caught without fetching it. A plain-HTTP URL redirected to https:// of the same host is
not followed either: that answer is the platform's usual one, the result of an unblocked
fetch (recorded in `redirects`), and following it would cost another TLS handshake and
page for nothing the HTTPS measurement does not already show. The first hop goes to the
address the chain resolved (when given), over the TLS connection of the chain's
handshake when there is one; later hosts are looked up through the system resolver.

HEAD reads no body, so its result has neither `body_length` nor `title`.
"""

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from balise.model import failures
from balise.model.results import HttpResult
from probe.backend import Backend, Fetched, FetchMethod, TlsConnection
from probe.classify import MeasurementFailure, classify
from probe.measurements import blockpages
from probe.measurements.dns import lookup
from probe.measurements.timing import RoundClock

if TYPE_CHECKING:
    from balise.model.failures import Failure

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    url: str
    address: str | None  # where the URL's host is; None: look it up
    timeout: float  # the whole fetch, redirects included
    max_body_bytes: int = 16_384
    max_redirects: int = 10
    method: FetchMethod = "GET"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {self.url!r}")


@dataclass(slots=True)
class _Walk:
    """What the hops found so far; kept when a later hop fails."""

    redirects: list[str]
    last: Fetched | None = None
    blockpage: str | None = None


async def run(
    config: Config, backend: Backend, connection: TlsConnection | None = None
) -> HttpResult:
    """`connection`: a verified TLS connection to the URL's host at `config.address`, for
    the first request (tls.connected); the request closes it."""
    t0 = config.clock.now()
    walk = _Walk(redirects=[])
    failure: Failure | None = None
    try:
        async with asyncio.timeout(config.timeout):
            await _follow(config, backend, walk, connection)
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        failure = classify(exc)
    last = walk.last
    return HttpResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        url=config.url,
        status=last.status if last else None,
        body_length=last.length if last and config.method == "GET" else None,
        title=blockpages.title(last.body) if last else None,
        redirects=tuple(walk.redirects),
        blockpage=walk.blockpage,
    )


async def _follow(
    config: Config, backend: Backend, walk: _Walk, connection: TlsConnection | None
) -> None:
    url = config.url
    host = urlsplit(url).hostname
    address = config.address
    for _ in range(config.max_redirects + 1):
        if address is None:
            address = await lookup(str(host), backend)
        walk.last = fetched = await backend.fetch(
            url,
            address,
            keep_bytes=config.max_body_bytes,
            max_bytes=config.max_body_bytes,
            max_seconds=None,  # run's timeout bounds the whole walk
            connection=connection,
            method=config.method,
        )
        connection = None  # used up: a redirect opens a connection of its own
        plain = urlsplit(url).scheme == "http"
        if plain:
            walk.blockpage = blockpages.match_body(fetched.body)
        if walk.blockpage or fetched.status not in REDIRECT_STATUSES or not fetched.location:
            return
        url = urljoin(url, fetched.location)
        walk.redirects.append(url)
        walk.blockpage = blockpages.match_url(url)
        if walk.blockpage:
            return  # no need to visit the censor's page
        if plain and _upgrade(url, host):
            return  # the platform's own answer to plain HTTP
        if urlsplit(url).hostname != host:
            host, address = urlsplit(url).hostname, None
    raise MeasurementFailure(
        failures.HTTP_REQUEST_FAILED, f"more than {config.max_redirects} redirects"
    )


def _upgrade(url: str, host: str | None) -> bool:
    """`url` is https:// on `host`: where a platform sends a plain-HTTP visitor."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname == host
