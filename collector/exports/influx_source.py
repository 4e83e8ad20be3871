"""Events read back from InfluxDB 1.x (the `event` measurement of docs/storage.md), for
collectors that store there. InfluxDB keeps a measurement's numbers, not the probe's whole
chain, so only events and timelines are exported from it; measurements come from SQLite."""

import math
from typing import Any

from balise.model.events import Event, EventKind, Evidence, Scope
from balise.model.layers import Access
from collector.exports.query import Query, event_matches
from collector.stores.influx_v1 import InfluxV1Store

# The tags are the event's identity and scope; every field comes back as a column.
EVENTS = 'SELECT * FROM "event"{where} GROUP BY *'


def _influx_time(t: float) -> str:
    return f"{math.floor(t * 1_000_000)}u"


def _event(tags: dict[str, str], row: dict[str, Any]) -> Event:
    asn = tags.get("asn") or ""
    access = tags.get("access") or ""
    end = row.get("end")
    return Event(
        id=tags["id"],
        kind=EventKind(tags["kind"]),
        state="open" if row.get("state") == "open" else "closed",
        scope=Scope(
            country=tags.get("country") or None,
            region=tags.get("region") or None,
            asn=int(asn) if asn.isdigit() else None,
            access=Access(access) if access in {a.value for a in Access} else None,
            probe=tags.get("probe") or None,
        ),
        start=float(row["start"]),
        end=None if end is None else float(end),
        platform=tags.get("platform") or None,
        method=tags.get("method") or None,
        affected=int(row.get("affected") or 0),
        total=int(row.get("total") or 0),
        confidence=float(row.get("confidence") or 0.0),
        updated=float(row.get("updated") or 0.0),
        evidence=Evidence(note=_note(str(row.get("text") or ""))),
    )


def _note(text: str) -> str:
    """The detector's note, the last part of the stored text after the confidence
    (collector/eventtext.py writes "…; confidence 0.90; <note>")."""
    _, _, after = text.partition("; confidence ")
    _, _, note = after.partition("; ")
    return note


class InfluxEventSource:
    def __init__(self, store: InfluxV1Store) -> None:
        self.store = store

    async def events(self, query: Query) -> list[Event]:
        """The newest version of each event overlapping the query, oldest start first."""
        where = f" WHERE time < {_influx_time(query.until)}" if query.until is not None else ""
        newest: dict[str, Event] = {}
        for series in await self.store.select(EVENTS.format(where=where)):
            tags = series.get("tags") or {}
            columns = series["columns"]
            for values in series.get("values") or ():
                event = _event(tags, dict(zip(columns, values, strict=True)))
                known = newest.get(event.id)
                if known is None or event.updated >= known.updated:
                    newest[event.id] = event
        chosen = (e for e in newest.values() if event_matches(e, query))
        return sorted(chosen, key=lambda e: (e.start, e.id))
