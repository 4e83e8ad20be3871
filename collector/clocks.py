"""Where a round belongs in time when the probe's wall clock cannot say: its boot's anchor.

Within one boot a probe's monotonic clock (`clock.mono`) is exact; only its
offset to true time is unknown. An *anchor* fixes that offset once per
(probe, boot), and every round of the boot is then placed at `offset + mono`:
the same round always gets the same time, so a re-delivery rewrites its points
instead of adding new ones. Anchors are kept in SQLite, so a collector restart
places re-deliveries where their first delivery went.

The rule (docs/durability.md):

1. A trusted wall clock (collector.timestamps.wall_clock_trusted): `started`.
   It also anchors its boot exactly, if the boot has no anchor yet.
2. A boot with an anchor: `offset + mono`. Should that be more than
   `REANCHOR_S` after the round arrived, the anchor is provably late (it was
   learned from a round the broker had held back) and moves to this round.
3. A live round of a boot without an anchor: its arrival anchors the boot.
4. A late round of a boot without an anchor: once the probe's next boot is
   anchored and the round just before it is known, the boot ended before the
   next one started: its last round is placed at the next boot's start.
   Until then the round is *deferred*: `place` returns None, ingest leaves the
   round with the probe (not stored, not acknowledged) and the probe sends it again.

sqlite3's exceptions stop here: a failure to persist an anchor is logged and the
anchor is kept in memory (the round is still placed; only a re-delivery after a
restart could land elsewhere).
"""

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from balise.model.messages import Round
from collector.timestamps import Placement, wall_clock_trusted

log = logging.getLogger(__name__)

REANCHOR_S: Final = 60.0
MAX_BOOTS: Final = 8  # anchors kept per probe, the newest

AnchorSource = Literal["wall_clock", "arrival", "next_boot", "reanchored"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS anchors (
    probe TEXT NOT NULL,
    boot TEXT NOT NULL,
    offset REAL NOT NULL,  -- true time minus the boot's monotonic clock, seconds
    source TEXT NOT NULL,
    first_seq INTEGER NOT NULL,  -- the lowest seq of the boot seen so far
    PRIMARY KEY (probe, boot)
);
"""


@dataclass(slots=True)
class _Boot:
    offset: float | None = None
    source: AnchorSource | None = None
    first_seq: int = 0  # lowest seq seen, 0: none yet
    last_seq: int = 0  # highest seq seen
    last_mono: float = 0.0  # the monotonic clock of that round


@dataclass(slots=True)
class _Probe:
    boots: dict[str, _Boot] = field(default_factory=dict)  # oldest first


class BootClocks:
    """Owns one small SQLite file (or none: `path=None` keeps anchors in memory only)."""

    def __init__(self, path: Path | None = None, *, max_boots: int = MAX_BOOTS) -> None:
        self._max_boots = max_boots
        self._probes: dict[str, _Probe] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._load(self._db)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def anchor(self, probe: str, boot: str) -> tuple[float, AnchorSource] | None:
        state = self._probes.get(probe)
        found = state.boots.get(boot) if state else None
        if found is None or found.offset is None or found.source is None:
            return None
        return found.offset, found.source

    def place(self, round_: Round, received_at: float) -> Placement | None:
        """The time to store `round_` at, or None: not yet, leave it with the probe."""
        mono = round_.clock.mono
        boot = self._boot(round_)
        if wall_clock_trusted(round_, received_at):
            if boot.offset is None:
                self._set(round_, boot, round_.started - mono, "wall_clock")
            return Placement(round_.started, wall_clock=True)
        if boot.offset is not None:
            if boot.offset + mono > received_at + REANCHOR_S:
                log.info(
                    "%s boot %s: round %d arrived %.0fs before its anchor placed it; re-anchored",
                    round_.probe,
                    round_.clock.boot_id,
                    round_.seq,
                    boot.offset + mono - received_at,
                )
                self._set(round_, boot, received_at - mono, "reanchored")
            return Placement(boot.offset + mono, wall_clock=False)
        if not round_.late:
            self._set(round_, boot, received_at - mono, "arrival")
            return Placement(received_at, wall_clock=False)
        next_offset = self._next_boot_offset(round_.probe, boot)
        if next_offset is None:
            return None
        offset = next_offset - boot.last_mono
        self._set(round_, boot, offset, "next_boot")
        return Placement(offset + mono, wall_clock=False)

    def _boot(self, round_: Round) -> _Boot:
        probe = self._probes.setdefault(round_.probe, _Probe())
        boot = probe.boots.get(round_.clock.boot_id)
        if boot is None:
            boot = probe.boots[round_.clock.boot_id] = _Boot()
            self._forget_old_boots(round_.probe, probe)
        seq = round_.seq
        if not boot.first_seq or seq < boot.first_seq:
            boot.first_seq = seq
        if seq > boot.last_seq:
            boot.last_seq = seq
            boot.last_mono = round_.clock.mono
        return boot

    def _next_boot_offset(self, probe: str, boot: _Boot) -> float | None:
        """The anchored offset of the boot that followed `boot`, once its first round is known."""
        for other in self._probes[probe].boots.values():
            if other.first_seq == boot.last_seq + 1 and other.offset is not None:
                return other.offset
        return None

    def _set(self, round_: Round, boot: _Boot, offset: float, source: AnchorSource) -> None:
        boot.offset, boot.source = offset, source
        if self._db is None:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO anchors VALUES (?, ?, ?, ?, ?)",
                (round_.probe, round_.clock.boot_id, offset, source, boot.first_seq),
            )
        except sqlite3.Error:
            log.exception("cannot keep the clock anchor of %s on disk", round_.probe)

    def _forget_old_boots(self, probe_id: str, probe: _Probe) -> None:
        while len(probe.boots) > self._max_boots:
            oldest = next(iter(probe.boots))
            del probe.boots[oldest]
            if self._db is not None:
                try:
                    self._db.execute(
                        "DELETE FROM anchors WHERE probe = ? AND boot = ?", (probe_id, oldest)
                    )
                except sqlite3.Error:
                    log.exception("cannot forget an old clock anchor of %s", probe_id)

    def _load(self, db: sqlite3.Connection) -> None:
        rows = db.execute(
            "SELECT probe, boot, offset, source, first_seq FROM anchors ORDER BY rowid"
        ).fetchall()
        for probe, boot, offset, source, first_seq in rows:
            state = self._probes.setdefault(probe, _Probe())
            state.boots[boot] = _Boot(offset=float(offset), source=source, first_seq=int(first_seq))
