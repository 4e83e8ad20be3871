"""The collector's disk buffer: messages the store could not take, kept until it can.

SQLite in WAL mode with `synchronous=FULL`: once `append` has returned, the
messages survive a crash or a power cut, so the collector may acknowledge them
to their probes. Rows come back oldest first, as they went in, with the time
ingest placed each round at, so a drained round lands on the same points.

Calls are short and synchronous (run them in a thread). sqlite3's exceptions
stop here and become `UnavailableError`; a row that no longer decodes is logged
and deleted.
"""

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from balise import wire
from balise.model.messages import Heartbeat, Round, Status
from collector.errors import UnavailableError
from collector.received import Received
from collector.timestamps import Placement

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spilled (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,  -- round | status | heartbeat
    probe TEXT NOT NULL,
    payload BLOB NOT NULL,  -- the message as it arrived
    received_at REAL NOT NULL,
    placed_at REAL,  -- rounds: the time ingest placed them at
    wall_clock INTEGER
);
"""


@dataclass(frozen=True, slots=True)
class Spilled:
    id: int
    item: Received


class Spill:
    def __init__(self, path: Path, *, max_bytes: int = 1024 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._bytes = self._scalar("SELECT coalesce(sum(length(payload)), 0) FROM spilled")
            self.count = self._scalar("SELECT count(*) FROM spilled")
        except (OSError, sqlite3.Error) as exc:
            raise UnavailableError(f"disk buffer {path}: {exc}") from exc
        self.path = path

    def close(self) -> None:
        self._db.close()

    def append(self, items: Sequence[Received]) -> bool:
        """Keep `items` durably, in order; False (nothing kept) when the buffer is full."""
        size = sum(len(item.payload) for item in items)
        if self._bytes + size > self.max_bytes:
            return False
        rows = [_row(item) for item in items]
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO spilled (channel, probe, payload, received_at, placed_at,"
                    " wall_clock) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            raise UnavailableError(f"disk buffer {self.path}: {exc}") from exc
        self._bytes += size
        self.count += len(rows)
        return True

    def oldest(self, limit: int) -> list[Spilled]:
        try:
            rows = self._db.execute(
                "SELECT id, channel, probe, payload, received_at, placed_at, wall_clock"
                " FROM spilled ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise UnavailableError(f"disk buffer {self.path}: {exc}") from exc
        if not rows:
            self.count, self._bytes = 0, 0
        out: list[Spilled] = []
        for row_id, channel, probe, payload, received_at, placed_at, wall_clock in rows:
            try:
                message = _decode(channel, bytes(payload), probe)
            except wire.WireError:
                log.exception("disk buffer row %d no longer decodes: deleted", row_id)
                self.remove(row_id, only=True)
                continue
            placement = None if placed_at is None else Placement(placed_at, bool(wall_clock))
            out.append(Spilled(row_id, Received(message, bytes(payload), received_at, placement)))
        return out

    def remove(self, up_to: int, *, only: bool = False) -> None:
        """Forget every row up to id `up_to` (stored now), or just that one row."""
        span = (up_to if only else 0, up_to)
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                size, count = self._db.execute(
                    "SELECT coalesce(sum(length(payload)), 0), count(*) FROM spilled"
                    " WHERE id BETWEEN ? AND ?",
                    span,
                ).fetchone()
                self._db.execute("DELETE FROM spilled WHERE id BETWEEN ? AND ?", span)
        except sqlite3.Error as exc:
            raise UnavailableError(f"disk buffer {self.path}: {exc}") from exc
        self._bytes -= int(size)
        self.count -= int(count)

    def _scalar(self, sql: str) -> int:
        return int(self._db.execute(sql).fetchone()[0])


def _row(item: Received) -> tuple[str, str, bytes, float, float | None, bool | None]:
    message, placed = item.message, item.placement
    channel = (
        "round"
        if isinstance(message, Round)
        else "status"
        if isinstance(message, Status)
        else "heartbeat"
    )
    return (
        channel,
        message.probe,
        item.payload,
        item.received_at,
        placed.at if placed else None,
        placed.wall_clock if placed else None,
    )


def _decode(channel: str, payload: bytes, probe: str) -> Round | Status | Heartbeat:
    if channel == "round":
        return wire.decode_round(payload, probe)
    if channel == "status":
        return wire.decode_status(payload, probe)
    return wire.decode_heartbeat(payload, probe)
