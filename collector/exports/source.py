"""Reading what the SQLite store holds, page by page, for the exports and the API.

Pages are keyset-ordered (no OFFSET): a page ends with a `Cursor`, the position after
its last row, so a long export streams in bounded memory and an API client pages on
without missing or repeating a row while new data arrives.
"""

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec

from balise.model.events import Event
from balise.model.messages import Round
from balise.model.results import TargetResult
from collector.exports.query import Query, QueryError
from collector.stores.sqlite import SqliteStore

PAGE = 500
JOINED = "results r JOIN rounds d ON d.probe = r.probe AND d.seq = r.seq"
COLUMNS = "d.time, d.probe, d.seq, r.target, d.clock_suspect, d.raw"
ORDER = "d.time, d.probe, d.seq, r.target"

_event = msgspec.json.Decoder(Event).decode
_round = msgspec.json.Decoder(Round).decode


class Measurement(msgspec.Struct, frozen=True, kw_only=True):
    """One target's chain in one round, with the probe's place."""

    probe: str
    seq: int
    time: float  # when it was measured (docs/storage.md, "Which time a point has")
    country: str
    region: str
    asn: int
    access: str
    network: str
    software: str  # the probe's version
    late: bool
    clock_suspect: bool
    result: TargetResult


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """The sort key of the last measurement served; the next page starts after it."""

    time: float
    probe: str
    seq: int
    target: str


class KeyCursor(msgspec.Struct, frozen=True, array_like=True):
    """The sort key of the last event (start, id) or imported measurement (time, uid)."""

    time: float
    key: str


C = TypeVar("C", Cursor, KeyCursor)


def encode_cursor(cursor: Cursor | KeyCursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(text: str, kind: type[C]) -> C:
    """The cursor in `text`; QueryError("cursor") when it is not one this server made."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise QueryError("cursor", "is not a cursor this server gave out") from None


def _scope_sql(query: Query, prefix: str) -> tuple[list[str], list[object]]:
    """WHERE terms on the rounds table's probe columns."""
    terms: list[str] = []
    params: list[object] = []
    for column, value in (
        ("country", query.country),
        ("region", query.region),
        ("asn", query.asn),
        ("access", query.access.value if query.access else None),
        ("probe", query.probe),
    ):
        if value is not None:
            terms.append(f"{prefix}{column} = ?")
            params.append(value)
    return terms, params


def _events_sql(query: Query) -> tuple[str, list[object]]:
    terms = ["1"]
    params: list[object] = []
    if query.until is not None:
        terms.append("start < ?")
        params.append(query.until)
    if query.since is not None:
        terms.append('("end" IS NULL OR "end" >= ?)')
        params.append(query.since)
    if query.kind is not None:
        terms.append("kind = ?")
        params.append(query.kind.value)
    for path, value in (
        ("$.scope.country", query.country),
        ("$.scope.region", query.region),
        ("$.scope.asn", query.asn),
        ("$.scope.access", query.access.value if query.access else None),
        ("$.scope.probe", query.probe),
        ("$.platform", query.platform),
    ):
        if value is not None:
            terms.append("json_extract(CAST(raw AS TEXT), ?) = ?")
            params += [path, value]
    return " AND ".join(terms), params


class StoreSource:
    """Read-only queries over a `SqliteStore` (the collector's, or a file given to an export)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def events(self, query: Query) -> list[Event]:
        """Every event overlapping the query, oldest start first (events are few)."""
        where, params = _events_sql(query)
        sql = f"SELECT raw FROM events WHERE {where} ORDER BY start, id"  # noqa: S608 - fixed terms
        rows = await self.store.select(sql, params)
        return [_event(r[0]) for r in rows]

    async def count_measurements(self, query: Query) -> int:
        where, params = self._measurement_sql(query, None)
        sql = f"SELECT count(*) FROM {JOINED} WHERE {where}"  # noqa: S608 - fixed terms
        rows = await self.store.select(sql, params)
        return int(rows[0][0])

    async def measurement_page(
        self, query: Query, after: Cursor | None, limit: int
    ) -> tuple[list[Measurement], Cursor | None]:
        """Up to `limit` measurements after `after`, oldest first; the cursor of the next page
        (None when this one is the last)."""
        where, params = self._measurement_sql(query, after)
        sql = f"SELECT {COLUMNS} FROM {JOINED} WHERE {where} ORDER BY {ORDER} LIMIT ?"  # noqa: S608
        rows = await self.store.select(sql, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        page = _measurements(rows)
        if not more or not rows:
            return page, None
        last = rows[-1]
        return page, Cursor(time=last[0], probe=last[1], seq=last[2], target=last[3])

    async def measurements(self, query: Query, page: int = PAGE) -> AsyncIterator[Measurement]:
        """Every measurement of the query, oldest first, read a page at a time."""
        cursor: Cursor | None = None
        while True:
            rows, cursor = await self.measurement_page(query, cursor, page)
            for row in rows:
                yield row
            if cursor is None:
                return

    @staticmethod
    def _measurement_sql(query: Query, after: Cursor | None) -> tuple[str, list[object]]:
        terms, params = _scope_sql(query, "d.")
        if query.since is not None:
            terms.append("d.time >= ?")
            params.append(query.since)
        if query.until is not None:
            terms.append("d.time < ?")
            params.append(query.until)
        if query.platform is not None:
            terms.append("r.target = ?")
            params.append(query.platform)
        if after is not None:
            terms.append("(d.time, d.probe, d.seq, r.target) > (?, ?, ?, ?)")
            params += [after.time, after.probe, after.seq, after.target]
        return " AND ".join(terms) or "1", params


def _measurements(rows: list[tuple[Any, ...]]) -> list[Measurement]:
    out: list[Measurement] = []
    decoded: tuple[str, int, Round] | None = None
    for time, probe, seq, target, suspect, raw in rows:
        if decoded is None or decoded[:2] != (probe, seq):
            decoded = (probe, seq, _round(raw))
        round_ = decoded[2]
        result = next((t for t in round_.targets if t.target == target), None)
        if result is None:
            continue
        meta = round_.meta
        out.append(
            Measurement(
                probe=probe,
                seq=seq,
                time=time,
                country=meta.country,
                region=meta.region,
                asn=meta.asn,
                access=meta.access.value,
                network=meta.network,
                software=meta.version,
                late=round_.late,
                clock_suspect=bool(suspect),
                result=result,
            )
        )
    return out
