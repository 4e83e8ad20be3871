"""`balise export events|timeline|measurements`: read a store (SQLite, or InfluxDB 1.x for
events and timelines), write one format."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from balise.model.events import Event
from collector.errors import RejectedError, UnavailableError
from collector.exports import rows, stop
from collector.exports.influx_source import InfluxEventSource
from collector.exports.query import Query
from collector.exports.source import StoreSource
from collector.exports.writers import (
    each,
    progress,
    show_progress,
    write_csv,
    write_json_array,
    write_jsonl,
)
from collector.ooni.emit import measurement as ooni_measurement
from collector.settings import InfluxV1StoreSettings
from collector.stores.influx_v1 import InfluxV1Store
from collector.stores.sqlite import SqliteStore

FORMATS: dict[str, tuple[str, ...]] = {
    "events": ("csv", "json", "stop"),
    "timeline": ("csv", "json", "png", "svg"),
    "measurements": ("csv", "json", "ooni"),
}

IMAGES: dict[str, Literal["png", "svg"]] = {"png": "png", "svg": "svg"}


class ExportError(Exception):
    """The export cannot run as asked; the message says why."""


def describe(query: Query) -> str:
    """The filters in words, printed under the chart's title."""
    parts = [
        f"{name}={value.value if hasattr(value, 'value') else value}"
        for name, value in (
            (n, getattr(query, n))
            for n in ("country", "region", "asn", "access", "platform", "kind", "probe")
        )
        if value is not None
    ]
    return "Filters: " + ", ".join(parts) if parts else ""


class EventSource(Protocol):
    async def events(self, query: Query) -> list[Event]: ...


async def export(
    what: str,
    fmt: str,
    query: Query,
    store: Path | InfluxV1StoreSettings,
    output: Path | None,
) -> int:
    """Write the export to `output` (stdout when None); return how many rows were written.

    `store` is a SQLite file, or an InfluxDB 1.x server (events and timelines only)."""
    if fmt not in FORMATS.get(what, ()):
        raise ExportError(f"{what} cannot be exported as {fmt}: choose {', '.join(FORMATS[what])}")
    if fmt in IMAGES and output is None:
        raise ExportError(f"a {fmt} picture needs --output FILE")
    backend: SqliteStore | InfluxV1Store
    source: EventSource
    if isinstance(store, Path):
        if not await asyncio.to_thread(store.is_file):
            raise ExportError(f"no SQLite store at {store}")
        backend = SqliteStore(store)
        source = StoreSource(backend)
    else:
        if what == "measurements":
            raise ExportError("InfluxDB keeps no whole measurements: export them from SQLite")
        backend = InfluxV1Store(store)
        source = InfluxEventSource(backend)
    try:
        with ExitStack() as files:
            image = IMAGES.get(fmt)
            if image is not None:
                from collector.exports import chart  # noqa: PLC0415 - matplotlib takes seconds to load

                assert output is not None  # checked above
                binary = files.enter_context(output.open("wb"))
                events = await source.events(query)
                now = max((e.updated for e in events), default=None)
                chart.draw(
                    events,
                    binary,
                    image_format=image,
                    since=query.since,
                    until=query.until,
                    now=now,
                    subtitle=describe(query),
                )
                return len(events)
            out: IO[str] = (
                sys.stdout
                if output is None
                else files.enter_context(output.open("w", encoding="utf-8", newline=""))
            )
            return await _text(what, fmt, query, source, out)
    except (UnavailableError, RejectedError) as exc:
        raise ExportError(str(exc)) from exc
    finally:
        await backend.close()


async def _text(what: str, fmt: str, query: Query, source: EventSource, out: IO[str]) -> int:
    if what == "measurements":
        assert isinstance(source, StoreSource)  # export() reads measurements from SQLite only
        return await _measurements(fmt, query, source, out)
    events = await source.events(query)
    if what == "timeline":
        if fmt == "csv":
            return await write_csv(out, rows.TIMELINE_COLUMNS, each(rows.timeline_rows(events)))
        return await write_json_array(out, each(rows.timeline_lanes(events)))
    if fmt == "stop":
        chosen = stop.stop_events(events)
        return await write_csv(out, stop.STOP_COLUMNS, each(map(stop.stop_row, chosen)))
    if fmt == "csv":
        return await write_csv(out, rows.EVENT_COLUMNS, each(map(rows.event_row, events)))
    return await write_json_array(out, each(map(rows.event_json, events)))


async def _measurements(fmt: str, query: Query, source: StoreSource, out: IO[str]) -> int:
    total = await source.count_measurements(query)
    with progress("measurements", total, enabled=show_progress(out)) as advance:

        async def counted(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async for item in items:
                advance()
                yield item

        measurements = source.measurements(query)
        if fmt == "ooni":
            return await write_jsonl(out, counted(_map(ooni_measurement, measurements)))
        table = counted(_map(rows.measurement_row, measurements))
        if fmt == "csv":
            return await write_csv(out, rows.MEASUREMENT_COLUMNS, table)
        return await write_json_array(out, table)


async def _map(function: Any, items: AsyncIterator[Any]) -> AsyncIterator[Any]:  # noqa: ANN401
    async for item in items:
        yield function(item)
