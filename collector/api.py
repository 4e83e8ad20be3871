"""The collector's JSON API: what the status page and analysts' tools read.

docs/api.md describes it; collector/static/openapi.json is its OpenAPI 3 document,
served at /api/openapi.json. A bad parameter gets 400 with the parameter named, a store
that cannot answer 503; nothing a client sends gives a 500.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from balise.model.catalog import Catalog
from balise.model.events import Event
from collector.errors import RejectedError, UnavailableError
from collector.exports import rows
from collector.exports.query import Query, QueryError, event_matches, parse_limit, parse_query
from collector.exports.source import Cursor, KeyCursor, StoreSource, decode_cursor, encode_cursor
from collector.http import COUNTERS
from collector.latest import LatestView, ProbeView
from collector.observers import Detector
from collector.ooni.imported import ImportedSource
from collector.stores.sqlite import SqliteStore
from collector.stores.store import Store

LATEST = web.AppKey("latest", LatestView)
DETECTOR = web.AppKey("detector", Detector)
SOURCE = web.AppKey("source", StoreSource)
IMPORTED = web.AppKey("imported", ImportedSource)
CATALOG = web.AppKey("catalog", Catalog)
OPENAPI = Path(__file__).with_name("static") / "openapi.json"

FILTERS = ("since", "until", "country", "region", "asn", "access", "platform", "kind", "probe")
PAGING = ("limit", "cursor")
DEFAULT_LIMIT = 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(
    app: web.Application,
    latest: LatestView,
    detector: Detector | None,
    *,
    store: Store | None = None,
    catalog: Catalog | None = None,
) -> None:
    app[LATEST] = latest
    if detector is not None:
        app[DETECTOR] = detector
    if isinstance(store, SqliteStore):
        app[SOURCE] = StoreSource(store)
        app[IMPORTED] = ImportedSource(store)
    if catalog is not None:
        app[CATALOG] = catalog
    app.middlewares.append(errors)
    app.router.add_get("/api/status", status)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/timeline", timeline)
    app.router.add_get("/api/probes", probes)
    app.router.add_get("/api/measurements", measurements)
    app.router.add_get("/api/ooni", ooni)
    app.router.add_get("/api/ooni/summary", ooni_summary)
    app.router.add_get("/api/catalog", catalog_json)
    app.router.add_get("/api/openapi.json", openapi)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Our errors as JSON: 400 naming the bad parameter, 503 when the store cannot answer."""
    try:
        return await handler(request)
    except QueryError as exc:
        return web.json_response({"error": str(exc), "parameter": exc.parameter}, status=400)
    except (UnavailableError, RejectedError) as exc:
        return web.json_response({"error": f"the store cannot answer: {exc}"}, status=503)


def _params(request: web.Request, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query string, each parameter once and known; else QueryError naming it."""
    params: dict[str, str] = {}
    for key, value in request.query.items():
        if key not in allowed:
            raise QueryError(key, f"is not a parameter here; known: {', '.join(allowed)}")
        if key in params:
            raise QueryError(key, "is given more than once")
        params[key] = value
    return params


def probe_json(view: ProbeView) -> dict[str, Any]:
    # Every field, defaults included: a client filters on `access` even when it is "fixed".
    meta = msgspec.to_builtins(msgspec.structs.asdict(view.meta)) if view.meta else {}
    return {
        "probe": view.probe,
        "state": view.state,
        "meta": meta,
        "last_seq": view.last_seq,
        "last_round_at": view.last_round_at,
        "last_seen": view.last_seen,
        "backlog": view.backlog,
        "clock_synced": view.clock_synced,
        "targets": [
            {"target": target, "failed_layer": layer, "failure": failure}
            for target, (layer, failure) in sorted(view.targets.items())
        ],
        "anchors": [
            {"anchor": anchor, "failure": failure}
            for anchor, failure in sorted(view.anchors.items())
        ],
    }


async def status(request: web.Request) -> web.Response:
    """Probes with their latest results, the detector's events, the counters."""
    latest = request.app[LATEST]
    detector = request.app.get(DETECTOR)
    counters = request.app[COUNTERS]
    found = detector.events() if detector is not None else []
    body = {
        "probes": [probe_json(view) for _, view in sorted(latest.probes.items())],
        "events": [rows.event_json(e) for e in sorted(found, key=lambda e: e.start, reverse=True)],
        "counters": counters.snapshot(),
    }
    return web.json_response(body)


async def _events(request: web.Request, query: Query) -> list[Event]:
    """From the store when it is SQLite (what exports read), else the detector's memory."""
    source = request.app.get(SOURCE)
    if source is not None:
        return await source.events(query)
    detector = request.app.get(DETECTOR)
    found = detector.events() if detector is not None else []
    return sorted((e for e in found if event_matches(e, query)), key=lambda e: (e.start, e.id))


async def events(request: web.Request) -> web.Response:
    params = _params(request, (*FILTERS, "state", *PAGING))
    query = parse_query(params)
    state = params.get("state")
    if state not in {None, "open", "closed"}:
        raise QueryError("state", f"{state!r} is not one of open, closed")
    limit = parse_limit(params.get("limit"), DEFAULT_LIMIT)
    after = decode_cursor(params["cursor"], KeyCursor) if "cursor" in params else None
    chosen = [e for e in await _events(request, query) if state in {None, e.state}]
    if after is not None:
        chosen = [e for e in chosen if (e.start, e.id) > (after.time, after.key)]
    page = chosen[:limit]
    more = len(chosen) > limit
    cursor = KeyCursor(time=page[-1].start, key=page[-1].id) if more else None
    return web.json_response(
        {
            "events": [rows.event_json(e) for e in page],
            "next": encode_cursor(cursor) if cursor else None,
        }
    )


async def timeline(request: web.Request) -> web.Response:
    query = parse_query(_params(request, FILTERS))
    found = await _events(request, query)
    first = min((e.start for e in found), default=None)
    last = max((e.end if e.end is not None else e.updated for e in found), default=None)
    return web.json_response(
        {
            "since": query.since if query.since is not None else first,
            "until": query.until if query.until is not None else last,
            "lanes": rows.timeline_lanes(found),
            "changes": rows.timeline_rows(found),
        }
    )


async def probes(request: web.Request) -> web.Response:
    params = _params(request, ("country", "region", "asn", "access", "probe"))
    query = parse_query(params)
    views = [probe_json(v) for _, v in sorted(request.app[LATEST].probes.items())]
    wanted = {
        "country": query.country,
        "region": query.region,
        "asn": query.asn,
        "access": query.access.value if query.access else None,
    }
    chosen = [
        v
        for v in views
        if (query.probe is None or v["probe"] == query.probe)
        and all(want is None or v["meta"].get(k) == want for k, want in wanted.items())
    ]
    return web.json_response({"probes": chosen})


def _sqlite(request: web.Request) -> StoreSource:
    source = request.app.get(SOURCE)
    if source is None:
        raise web.HTTPNotImplemented(
            text='{"error": "measurements are served from the SQLite store only"}',
            content_type="application/json",
        )
    return source


async def measurements(request: web.Request) -> web.Response:
    params = _params(request, (*FILTERS, *PAGING))
    query = parse_query(params)
    if query.kind is not None:
        raise QueryError("kind", "selects events; measurements have no kind")
    limit = parse_limit(params.get("limit"), DEFAULT_LIMIT)
    after = decode_cursor(params["cursor"], Cursor) if "cursor" in params else None
    page, cursor = await _sqlite(request).measurement_page(query, after, limit)
    items = [rows.measurement_row(m) | {"result": msgspec.to_builtins(m.result)} for m in page]
    return web.json_response(
        {"measurements": items, "next": encode_cursor(cursor) if cursor else None}
    )


async def ooni(request: web.Request) -> web.Response:
    params = _params(request, ("since", "until", "country", "asn", "platform", *PAGING))
    query = parse_query(params)
    limit = parse_limit(params.get("limit"), DEFAULT_LIMIT)
    after = decode_cursor(params["cursor"], KeyCursor) if "cursor" in params else None
    imported = request.app.get(IMPORTED)
    if imported is None:
        return web.json_response({"measurements": [], "next": None})
    page, cursor = await imported.page(query, after, limit)
    return web.json_response(
        {"measurements": page, "next": encode_cursor(cursor) if cursor else None}
    )


async def ooni_summary(request: web.Request) -> web.Response:
    _params(request, ())
    imported = request.app.get(IMPORTED)
    return web.json_response({"summary": await imported.summary() if imported else []})


async def catalog_json(request: web.Request) -> web.Response:
    _params(request, ())
    catalog = request.app.get(CATALOG)
    if catalog is None:
        raise web.HTTPNotFound(text='{"error": "no catalog"}', content_type="application/json")
    return web.json_response(msgspec.to_builtins(catalog))


async def openapi(request: web.Request) -> web.FileResponse:
    _params(request, ())
    return web.FileResponse(OPENAPI, headers={"Content-Type": "application/json"})
