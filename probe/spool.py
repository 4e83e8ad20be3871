"""The probe's spool: every round is on disk before it is published, until acknowledged.

SQLite in WAL mode with `synchronous=FULL`, so a round that `append` returned for
survives a power cut at any instant. A round leaves the spool only when the
collector acknowledges that it has stored it (`ack`). When the spool exceeds its
size bound, it first strips the raw detail of the oldest rounds (keeping each
target's first failing layer and failure), then drops the oldest rounds.
"""

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import msgspec

from balise import wire
from balise.model.messages import Round
from balise.model.results import TargetResult

P = ParamSpec("P")
R = TypeVar("R")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    seq INTEGER PRIMARY KEY,
    payload BLOB NOT NULL,
    summary INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class SpooledRound:
    seq: int
    payload: bytes


def _locked(method: Callable[Concatenate["Spool", P], R]) -> Callable[Concatenate["Spool", P], R]:
    """One call at a time: the uplink runs calls in worker threads while the scheduler calls
    from the event loop, and one SQLite connection takes one transaction at a time."""

    @functools.wraps(method)
    def locked(self: "Spool", /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class Spool:
    """Owns one SQLite file; calls are short, synchronous and serialised (run them in a
    thread if needed)."""

    def __init__(self, path: Path, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self.max_bytes = max_bytes
        self._decoder = msgspec.json.Decoder(Round)
        self._lock = threading.RLock()

    @_locked
    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else default

    @_locked
    def next_seq(self) -> int:
        """The sequence number the next round will get: contiguous from 1, never reused."""
        return self._meta("last_seq", 0) + 1

    @_locked
    def acked(self) -> int:
        return self._meta("acked", 0)

    @_locked
    def floor(self) -> int:
        """Every round up to this seq is acknowledged or was evicted: nobody waits for it."""
        row = self._db.execute("SELECT min(seq) FROM rounds").fetchone()
        oldest = row[0]
        return self.next_seq() - 1 if oldest is None else int(oldest) - 1

    @_locked
    def append(self, round_: Round) -> None:
        """Store a round durably; its `seq` must be `next_seq()`."""
        expected = self.next_seq()
        if round_.seq != expected:
            raise ValueError(f"spool expects seq {expected}, got {round_.seq}")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO rounds (seq, payload) VALUES (?, ?)", (round_.seq, wire.encode(round_))
            )
            db.execute(
                "INSERT INTO meta VALUES ('last_seq', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (round_.seq,),
            )
        self._enforce_bound()

    @_locked
    def ack(self, seq: int) -> int:
        """The collector stored every round up to `seq`: forget them. Returns how many."""
        with self._transaction() as db:
            deleted = db.execute("DELETE FROM rounds WHERE seq <= ?", (seq,)).rowcount
            db.execute(
                "INSERT INTO meta VALUES ('acked', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                (seq,),
            )
        return int(deleted)

    @_locked
    def pending(self, *, after: int = 0, limit: int = 100) -> list[SpooledRound]:
        """Unacknowledged rounds with seq > `after`, oldest first."""
        rows = self._db.execute(
            "SELECT seq, payload FROM rounds WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [SpooledRound(int(seq), bytes(payload)) for seq, payload in rows]

    @_locked
    def backlog(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM rounds").fetchone()[0])

    @_locked
    def size_bytes(self) -> int:
        row = self._db.execute("SELECT coalesce(sum(length(payload)), 0) FROM rounds").fetchone()
        return int(row[0])

    def _enforce_bound(self) -> None:
        total = self.size_bytes()
        if total <= self.max_bytes:
            return
        # Raw detail goes first: oldest rounds become summaries.
        with closing(self._db.cursor()) as cursor:
            rows = cursor.execute(
                "SELECT seq, payload FROM rounds WHERE summary = 0 ORDER BY seq"
            ).fetchall()
        for seq, payload in rows:
            summary = wire.encode(_summarise(self._decoder.decode(payload)))
            self._db.execute(
                "UPDATE rounds SET payload = ?, summary = 1 WHERE seq = ?", (summary, seq)
            )
            total -= len(payload) - len(summary)
            if total <= self.max_bytes:
                return
        # Then the oldest rounds themselves, keeping the newest.
        for seq, size in self._db.execute(
            "SELECT seq, length(payload) FROM rounds ORDER BY seq"
        ).fetchall()[:-1]:
            self._db.execute("DELETE FROM rounds WHERE seq = ?", (seq,))
            total -= int(size)
            if total <= self.max_bytes:
                return


def _summarise(round_: Round) -> Round:
    targets = tuple(
        TargetResult(
            target=t.target, control=t.control, failed_layer=t.failed_layer, failure=t.failure
        )
        for t in round_.targets
    )
    return msgspec.structs.replace(round_, targets=targets)
