"""Events, timelines and measurements as flat rows: the columns of the CSV and JSON exports.

The API serves the same rows, so a file and a request never disagree.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec

from balise.model.events import Event, EventKind
from collector.eventtext import scope_text, text, title
from collector.exports.source import Measurement
from collector.stores.summary import chain_ok, first_ms, http_status

Row = dict[str, Any]

METHOD_TEXT = {
    "full": "all traffic cut",
    "international": "international traffic cut",
    "dns": "DNS tampering",
    "tcp_ip": "IP blocking",
    "tls": "TLS/SNI filtering",
    "http": "HTTP block page or injection",
}

EVENT_COLUMNS = (
    "id",
    "kind",
    "state",
    "start_utc",
    "end_utc",
    "start_unix",
    "end_unix",
    "duration_s",
    "platform",
    "method",
    "country",
    "region",
    "asn",
    "access",
    "probe",
    "affected",
    "total",
    "confidence",
    "title",
    "text",
)

TIMELINE_COLUMNS = (
    "time_utc",
    "time_unix",
    "change",
    "kind",
    "platform",
    "method",
    "scope",
    "country",
    "region",
    "asn",
    "access",
    "probe",
    "event_id",
    "affected",
    "total",
    "title",
)

MEASUREMENT_COLUMNS = (
    "time_utc",
    "time_unix",
    "probe",
    "seq",
    "country",
    "region",
    "asn",
    "access",
    "network",
    "target",
    "ok",
    "failed_layer",
    "failure",
    "dns_ms",
    "tcp_ms",
    "tls_ms",
    "http_ms",
    "http_status",
    "blockpage",
    "late",
    "clock_suspect",
)


def utc(t: float | None) -> str | None:
    """ISO 8601 in UTC to the second, e.g. 2025-06-15T12:00:05Z."""
    if t is None:
        return None
    when = dt.datetime.fromtimestamp(t, dt.UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def event_row(event: Event) -> Row:
    s = event.scope
    return {
        "id": event.id,
        "kind": event.kind.value,
        "state": event.state,
        "start_utc": utc(event.start),
        "end_utc": utc(event.end),
        "start_unix": event.start,
        "end_unix": event.end,
        "duration_s": None if event.end is None else round(event.end - event.start, 3),
        "platform": event.platform,
        "method": event.method,
        "country": s.country,
        "region": s.region,
        "asn": s.asn,
        "access": s.access.value if s.access else None,
        "probe": s.probe,
        "affected": event.affected,
        "total": event.total,
        "confidence": round(event.confidence, 3),
        "title": title(event),
        "text": text(event),
    }


def event_json(event: Event) -> Row:
    """The event as on MQTT (wire format), with its title and text."""
    body: Row = msgspec.to_builtins(event)
    body["title"] = title(event)
    body["text"] = text(event)
    return body


def lane_of(event: Event) -> str:
    """The timeline row an event is drawn on: where, and which platform."""
    where = scope_text(event.scope) or "everywhere"
    what = event.platform or ("probe" if event.kind == EventKind.PROBE_OFFLINE else "all traffic")
    return f"{where} · {what}"


def timeline_rows(events: Iterable[Event]) -> list[Row]:
    """Every start and end of the events, in time order: the timeline to cite."""
    rows: list[Row] = []
    for event in events:
        for change, at in (("began", event.start), ("ended", event.end)):
            if at is None:
                continue
            s = event.scope
            rows.append(
                {
                    "time_utc": utc(at),
                    "time_unix": at,
                    "change": change,
                    "kind": event.kind.value,
                    "platform": event.platform,
                    "method": event.method,
                    "scope": scope_text(s) or "everywhere",
                    "country": s.country,
                    "region": s.region,
                    "asn": s.asn,
                    "access": s.access.value if s.access else None,
                    "probe": s.probe,
                    "event_id": event.id,
                    "affected": event.affected,
                    "total": event.total,
                    "title": title(event),
                }
            )
    rows.sort(key=lambda r: (r["time_unix"], r["change"] == "began", r["event_id"]))
    return rows


def timeline_lanes(events: Iterable[Event]) -> list[Row]:
    """Events grouped by lane (scope and platform), lanes in order of their first event."""
    lanes: dict[str, list[Row]] = {}
    for event in sorted(events, key=lambda e: (e.start, e.id)):
        lanes.setdefault(lane_of(event), []).append(
            {
                "id": event.id,
                "kind": event.kind.value,
                "method": event.method,
                "state": event.state,
                "start": event.start,
                "end": event.end,
                "title": title(event),
            }
        )
    return [{"lane": lane, "events": spans} for lane, spans in lanes.items()]


def measurement_row(m: Measurement) -> Row:
    r = m.result
    return {
        "time_utc": utc(m.time),
        "time_unix": m.time,
        "probe": m.probe,
        "seq": m.seq,
        "country": m.country,
        "region": m.region,
        "asn": m.asn,
        "access": m.access,
        "network": m.network,
        "target": r.target,
        "ok": chain_ok(r),
        "failed_layer": r.failed_layer,
        "failure": r.failure,
        "dns_ms": first_ms(r.dns),
        "tcp_ms": first_ms(r.tcp),
        "tls_ms": first_ms(r.tls),
        "http_ms": first_ms(r.http),
        "http_status": http_status(r),
        "blockpage": next((h.blockpage for h in r.http if h.blockpage), None),
        "late": m.late,
        "clock_suspect": m.clock_suspect,
    }
