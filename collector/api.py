"""The collector's JSON API: what the status page and other tools read."""

from typing import Any

import msgspec
from aiohttp import web

from collector.http import COUNTERS
from collector.latest import LatestView, ProbeView
from collector.observers import Detector

LATEST = web.AppKey("latest", LatestView)
DETECTOR = web.AppKey("detector", Detector)


def add_routes(app: web.Application, latest: LatestView, detector: Detector | None) -> None:
    app[LATEST] = latest
    if detector is not None:
        app[DETECTOR] = detector
    app.router.add_get("/api/status", status)


def probe_json(view: ProbeView) -> dict[str, Any]:
    meta = msgspec.to_builtins(view.meta) if view.meta else {}
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
    events = detector.events() if detector is not None else []
    body = {
        "probes": [probe_json(view) for _, view in sorted(latest.probes.items())],
        "events": msgspec.to_builtins(sorted(events, key=lambda e: e.start, reverse=True)),
        "counters": counters.snapshot(),
    }
    return web.json_response(body)
