"""The embedded default store: SQLite (WAL) in a worker thread.

Keeps every round's raw JSON beside the columns the status page and exports
read, one row per target result, the latest state of each probe, and events.
sqlite3's exceptions stop here and become collector.errors.
"""

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from balise.model.events import Event
from balise.model.messages import Heartbeat, Round, Status
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.stores.summary import chain_ok, first_ms, http_status
from collector.timestamps import placed_without_history, storage_time

T = TypeVar("T")

SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS rounds (
    probe TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,  -- when it was measured (collector.clocks, docs/durability.md)
    started REAL NOT NULL,  -- the probe's own clock, as sent
    received REAL NOT NULL,
    country TEXT NOT NULL,
    region TEXT NOT NULL,
    asn INTEGER NOT NULL,
    access TEXT NOT NULL,
    network TEXT NOT NULL,
    targets INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    late INTEGER NOT NULL,
    clock_suspect INTEGER NOT NULL,
    raw BLOB NOT NULL,  -- the message as it arrived (wire format v1 JSON)
    PRIMARY KEY (probe, seq)
);
CREATE INDEX IF NOT EXISTS rounds_by_time ON rounds (time);
CREATE TABLE IF NOT EXISTS results (
    probe TEXT NOT NULL,
    target TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    ok INTEGER NOT NULL,
    failed_layer TEXT,
    failure TEXT,
    dns_ms REAL,
    tcp_ms REAL,
    tls_ms REAL,
    http_ms REAL,
    http_status INTEGER,
    PRIMARY KEY (probe, target, seq)
);
CREATE INDEX IF NOT EXISTS results_by_time ON results (probe, target, time);
CREATE TABLE IF NOT EXISTS probes (
    probe TEXT PRIMARY KEY,
    state TEXT,
    state_at REAL,
    version TEXT,
    last_seq INTEGER,
    backlog INTEGER,
    clock_synced INTEGER,
    heartbeat_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL,
    updated REAL NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_start ON events (start);
-- Measurements of another source (OONI), classified into our per-layer outcome (collector/ooni).
CREATE TABLE IF NOT EXISTS imported (
    uid TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    time REAL NOT NULL,
    country TEXT NOT NULL,
    asn INTEGER NOT NULL,
    network TEXT NOT NULL,
    test_name TEXT NOT NULL,
    input TEXT NOT NULL,
    target TEXT NOT NULL,
    failed_layer TEXT,
    failure TEXT,
    verdict TEXT NOT NULL,
    raw BLOB NOT NULL  -- the classified record as JSON
);
CREATE INDEX IF NOT EXISTS imported_by_time ON imported (time);
"""

INSERT_ROUND = "INSERT OR REPLACE INTO rounds VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
INSERT_RESULT = "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
# Messages may arrive out of order: an older status or heartbeat never overwrites a newer one.
UPSERT_STATUS = """
INSERT INTO probes (probe, state, state_at, version) VALUES (?,?,?,?)
ON CONFLICT (probe) DO UPDATE SET
    state = excluded.state, state_at = excluded.state_at, version = excluded.version
WHERE probes.state_at IS NULL OR excluded.state_at >= probes.state_at
"""
UPSERT_HEARTBEAT = """
INSERT INTO probes (probe, last_seq, backlog, clock_synced, heartbeat_at) VALUES (?,?,?,?,?)
ON CONFLICT (probe) DO UPDATE SET
    last_seq = excluded.last_seq, backlog = excluded.backlog,
    clock_synced = excluded.clock_synced, heartbeat_at = excluded.heartbeat_at
WHERE probes.heartbeat_at IS NULL OR excluded.heartbeat_at >= probes.heartbeat_at
"""
INSERT_IMPORTED = "INSERT OR REPLACE INTO imported VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
UPSERT_EVENT = (
    'INSERT OR REPLACE INTO events (id, kind, state, start, "end", updated, raw)'
    " VALUES (?,?,?,?,?,?,?)"
)


class LatestResult(msgspec.Struct, frozen=True, kw_only=True):
    probe: str
    target: str
    seq: int
    time: float
    ok: bool
    failed_layer: str | None
    failure: str | None


class ProbeState(msgspec.Struct, frozen=True, kw_only=True):
    probe: str
    state: str | None  # "online" | "offline"; None before the first status
    state_at: float | None
    version: str | None
    last_seq: int | None  # from the latest heartbeat
    backlog: int | None
    clock_synced: bool | None
    heartbeat_at: float | None


_encode = msgspec.json.Encoder().encode
_event = msgspec.json.Decoder(Event).decode


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, used by one worker thread at a time

    async def write(self, batch: Sequence[Received]) -> int:
        return await self._run(lambda db: _write(db, batch))

    async def write_events(self, events: Sequence[Event]) -> None:
        rows = [
            (e.id, e.kind.value, e.state, e.start, e.end, e.updated, _encode(e)) for e in events
        ]
        await self._run(lambda db: db.executemany(UPSERT_EVENT, rows))

    async def write_imported(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Rows of the `imported` table, in its column order; the same uid replaces its row."""
        await self._run(lambda db: db.executemany(INSERT_IMPORTED, rows))

    async def select(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read query (collector/exports and the API build the SQL)."""
        return await self._run(lambda db: db.execute(sql, params).fetchall())

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def latest_results(self) -> list[LatestResult]:
        """The newest result of each (probe, target)."""
        rows = await self._run(
            lambda db: db.execute(
                # SQLite takes the bare columns from the row that holds the MAX().
                "SELECT probe, target, seq, MAX(time), ok, failed_layer, failure FROM results"
                " GROUP BY probe, target ORDER BY probe, target"
            ).fetchall()
        )
        return [
            LatestResult(
                probe=r[0],
                target=r[1],
                seq=r[2],
                time=r[3],
                ok=bool(r[4]),
                failed_layer=r[5],
                failure=r[6],
            )
            for r in rows
        ]

    async def probes(self) -> list[ProbeState]:
        rows = await self._run(
            lambda db: db.execute(
                "SELECT probe, state, state_at, version, last_seq, backlog, clock_synced,"
                " heartbeat_at FROM probes ORDER BY probe"
            ).fetchall()
        )
        return [
            ProbeState(
                probe=r[0],
                state=r[1],
                state_at=r[2],
                version=r[3],
                last_seq=r[4],
                backlog=r[5],
                clock_synced=None if r[6] is None else bool(r[6]),
                heartbeat_at=r[7],
            )
            for r in rows
        ]

    async def events(self, *, state: str | None = None, limit: int = 100) -> list[Event]:
        """The latest version of each event, newest start first."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT raw FROM events WHERE ?1 IS NULL OR state = ?1"
                " ORDER BY start DESC LIMIT ?2",
                (state, limit),
            ).fetchall()
        )
        return [_event(r[0]) for r in rows]

    async def rounds(
        self, *, since: float | None = None, until: float | None = None, limit: int = 1000
    ) -> list[bytes]:
        """Raw round messages measured in [since, until), oldest first."""
        rows = await self._run(
            lambda db: db.execute(
                "SELECT raw FROM rounds WHERE (?1 IS NULL OR time >= ?1)"
                " AND (?2 IS NULL OR time < ?2) ORDER BY time LIMIT ?3",
                (since, until, limit),
            ).fetchall()
        )
        return [bytes(r[0]) for r in rows]

    async def counts(self) -> dict[str, int]:
        def count(db: sqlite3.Connection) -> dict[str, int]:
            return {
                table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                for table in ("rounds", "results", "probes", "events")
            }

        return await self._run(count)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._lock:
                db = self._connection()
                with db:  # one transaction
                    return work(db)
        except (sqlite3.IntegrityError, sqlite3.DataError) as exc:
            raise RejectedError(f"sqlite {self._path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise UnavailableError(f"sqlite {self._path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, check_same_thread=False)
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def _close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _write(db: sqlite3.Connection, batch: Sequence[Received]) -> int:
    rounds, results, statuses, heartbeats = [], [], [], []
    for item in batch:
        message, received_at = item.message, item.received_at
        if isinstance(message, Round):
            placed = item.placement or placed_without_history(message, received_at)
            time = placed.at
            meta = message.meta
            failed = sum(not chain_ok(t) for t in message.targets)
            rounds.append(
                (
                    message.probe,
                    message.seq,
                    time,
                    message.started,
                    received_at,
                    meta.country,
                    meta.region,
                    meta.asn,
                    meta.access.value,
                    meta.network,
                    len(message.targets),
                    failed,
                    message.late,
                    not placed.wall_clock,
                    item.payload,
                )
            )
            results += [
                (
                    message.probe,
                    t.target,
                    message.seq,
                    time,
                    chain_ok(t),
                    t.failed_layer,
                    t.failure,
                    first_ms(t.dns),
                    first_ms(t.tcp),
                    first_ms(t.tls),
                    first_ms(t.http),
                    http_status(t),
                )
                for t in message.targets
            ]
        elif isinstance(message, Status):
            at = received_at if message.at is None else storage_time(message.at, received_at)
            statuses.append((message.probe, message.state, at, message.version))
        elif isinstance(message, Heartbeat):
            at = storage_time(message.at, received_at)
            heartbeats.append(
                (message.probe, message.last_seq, message.backlog, message.clock_synced, at)
            )
    db.executemany(INSERT_ROUND, rounds)
    db.executemany(INSERT_RESULT, results)
    db.executemany(UPSERT_STATUS, statuses)
    db.executemany(UPSERT_HEARTBEAT, heartbeats)
    return len(rounds) + len(results) + len(statuses) + len(heartbeats)
