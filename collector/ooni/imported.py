"""Imported measurements in the SQLite store's `imported` table: written by the importer,
read page by page by the API."""

from typing import Any

import msgspec

from collector.exports.query import Query
from collector.exports.source import KeyCursor
from collector.ooni.classify import Classified
from collector.stores.sqlite import SqliteStore

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Classified).decode


def row(c: Classified) -> tuple[object, ...]:
    """The record in the `imported` table's column order."""
    r = c.result
    return (
        c.uid, c.source, c.time, c.country, c.asn, c.network, c.test_name, c.input,
        c.target, r.failed_layer, r.failure, c.verdict, _encode(c),
    )  # fmt: skip


class ImportedSource:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def write(self, records: list[Classified]) -> None:
        await self.store.write_imported([row(c) for c in records])

    async def page(
        self, query: Query, after: KeyCursor | None, limit: int
    ) -> tuple[list[dict[str, Any]], KeyCursor | None]:
        terms = ["1"]
        params: list[object] = []
        for sql, value in (
            ("time >= ?", query.since),
            ("time < ?", query.until),
            ("country = ?", query.country),
            ("asn = ?", query.asn),
            ("target = ?", query.platform),
        ):
            if value is not None:
                terms.append(sql)
                params.append(value)
        if after is not None:
            terms.append("(time, uid) > (?, ?)")
            params += [after.time, after.key]
        where = " AND ".join(terms)
        sql = f"SELECT raw FROM imported WHERE {where} ORDER BY time, uid LIMIT ?"  # noqa: S608
        rows = await self.store.select(sql, [*params, limit + 1])
        records = [_decode(r[0]) for r in rows[:limit]]
        last = records[-1] if len(rows) > limit else None
        cursor = KeyCursor(time=last.time, key=last.uid) if last else None
        return [msgspec.to_builtins(c) for c in records], cursor

    async def summary(self) -> list[dict[str, Any]]:
        """How many imported measurements per country, network, target and verdict."""
        rows = await self.store.select(
            "SELECT country, asn, target, verdict, count(*), max(time) FROM imported"
            " GROUP BY country, asn, target, verdict ORDER BY country, asn, target, verdict"
        )
        keys = ("country", "asn", "target", "verdict", "count", "last")
        return [dict(zip(keys, r, strict=True)) for r in rows]
