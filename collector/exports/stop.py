"""Events as rows in the columns of Access Now's STOP dataset (#KeepItOn shutdown tracker).

docs/exports.md gives the mapping and its limits: Balise sees the technical side of a
shutdown only, so the contextual columns (who ordered it, why) are left empty for the
analyst. Platform outages and offline probes are not intentional disruptions and are
not exported in this shape.
"""

from collections.abc import Iterable

from balise.model.events import Event, EventKind
from collector.exports.rows import METHOD_TEXT, Row, utc

PLATFORM_COLUMNS = ("facebook", "twitter", "whatsapp", "instagram", "telegram")

STOP_COLUMNS = (
    "start_date",
    "end_date",
    "country",
    "geo_scope",
    "area_name",
    "shutdown_type",
    "affected_network",
    "shutdown_extent",
    *(f"{p}_affected" for p in PLATFORM_COLUMNS),
    "other_affected",
    "ordered_by",
    "decision_maker",
    "gov_justification",
    "actual_cause",
    "info_source",
    # Balise's own columns, after STOP's, so an analyst can trace a row back.
    "blocking_method",
    "affected_asn",
    "start_utc",
    "end_utc",
    "ongoing",
    "affected_probes",
    "confidence",
    "balise_event_id",
    "balise_kind",
)

SHUTDOWN_TYPE = {
    EventKind.NETWORK_SHUTDOWN: "Full network",
    EventKind.SERVICE_BLOCK: "Service-based",
    EventKind.THROTTLING: "Throttling",
}

AFFECTED_NETWORK = {"mobile": "Mobile", "fixed": "Broadband", None: "Mobile and broadband"}


def stop_events(events: Iterable[Event]) -> list[Event]:
    """The events that are disruptions in STOP's sense."""
    return [e for e in events if e.kind in SHUTDOWN_TYPE]


def stop_row(event: Event) -> Row:
    scope = event.scope
    if scope.probe:
        geo_scope = "Local"
    elif scope.region:
        geo_scope = "Regional"
    else:
        geo_scope = "National"
    everything = event.platform is None  # a network shutdown, or throttling of all traffic
    row: Row = {
        "start_date": (utc(event.start) or "")[:10],
        "end_date": (utc(event.end) or "")[:10],
        "country": scope.country or "",
        "geo_scope": geo_scope,
        "area_name": scope.region or "",
        "shutdown_type": SHUTDOWN_TYPE[event.kind],
        "affected_network": AFFECTED_NETWORK[scope.access.value if scope.access else None],
        "shutdown_extent": (
            "Full"
            if event.kind == EventKind.NETWORK_SHUTDOWN and event.method != "international"
            else "Partial"
        ),
    }
    for platform in PLATFORM_COLUMNS:
        row[f"{platform}_affected"] = "Yes" if everything or event.platform == platform else "No"
    other = "" if event.platform in {None, *PLATFORM_COLUMNS} else event.platform
    row["other_affected"] = "All services" if everything else other
    for contextual in ("ordered_by", "decision_maker", "gov_justification", "actual_cause"):
        row[contextual] = ""
    row["info_source"] = "Balise network measurement"
    row |= {
        "blocking_method": METHOD_TEXT.get(event.method or "", event.method or ""),
        "affected_asn": f"AS{scope.asn}" if scope.asn else "",
        "start_utc": utc(event.start),
        "end_utc": utc(event.end) or "",
        "ongoing": "Yes" if event.end is None else "No",
        "affected_probes": f"{event.affected}/{event.total}" if event.total else "",
        "confidence": round(event.confidence, 3),
        "balise_event_id": event.id,
        "balise_kind": event.kind.value,
    }
    return row
