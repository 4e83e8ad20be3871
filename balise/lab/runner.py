"""`balise lab run`: load every scenario first, run them, print and write the scorecard.

Exit status (scenario-format.md): 0 when every expected event matched with no false
event, 1 otherwise, 2 for an invalid file or an environment that cannot run the mode.
"""

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from balise.lab import scenario as scenarios
from balise.lab import scorecard
from balise.lab.scenario import Scenario, ScenarioError
from balise.model.events import Event

MODES = ("sim", "netns")


class LabEnvironmentError(Exception):
    """This machine cannot run the chosen mode; the message says why."""


def run_lab(
    mode: str,
    files: Sequence[Path],
    json_out: Path | None,
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
    keep_sqlite: Path | None = None,
    parallel: int = 1,
) -> int:
    """`keep_sqlite`: a directory where sim mode keeps each scenario's SQLite store
    (`<name>.sqlite3`), for `balise export` and the status page. `parallel`: how many
    netns labs run at a time."""
    if keep_sqlite is not None and mode != "sim":
        print("balise lab: --keep-sqlite is for sim mode only", file=sys.stderr)
        return 2
    if parallel != 1 and (mode != "netns" or parallel < 1):
        print("balise lab: --parallel is a positive number, for netns mode", file=sys.stderr)
        return 2
    if mode not in MODES:
        print(
            f"balise lab: unknown mode {mode!r}: choose one of {', '.join(MODES)}", file=sys.stderr
        )
        return 2
    try:
        loaded = _load_all(files)
        runs = _run(
            mode,
            loaded,
            influx_url=influx_url,
            influx_db=influx_db,
            keep=keep_sqlite,
            parallel=parallel,
        )
    except ScenarioError as exc:
        print(f"balise lab: {exc}", file=sys.stderr)
        return 2
    except LabEnvironmentError as exc:
        print(f"balise lab: {exc}", file=sys.stderr)
        return 2
    scores = []
    for s, (events, t0) in zip(loaded, runs, strict=True):
        score = scorecard.score(s, events, t0)
        print(scorecard.scenario_line(score), flush=True)
        scores.append(score)
    card = scorecard.combine(mode, scores)
    print(card.summary_line())
    if json_out is not None:
        json_out.write_bytes(msgspec.json.format(msgspec.json.encode(card), indent=2) + b"\n")
    return 0 if card.passed else 1


def _load_all(files: Sequence[Path]) -> list[Scenario]:
    """Every file, checked before anything starts; names must be unique."""
    if not files:
        raise ScenarioError("no scenario file given")
    loaded = [scenarios.load(path) for path in files]
    seen: dict[str, Path] = {}
    for path, s in zip(files, loaded, strict=True):
        if s.name in seen:
            raise ScenarioError(
                f"{path}: field name: {s.name!r} is also the name of {seen[s.name]}"
            )
        seen[s.name] = path
    return loaded


def _run(
    mode: str,
    loaded: list[Scenario],
    *,
    influx_url: str | None,
    influx_db: str,
    keep: Path | None = None,
    parallel: int = 1,
) -> list[tuple[Sequence[Event], float]]:
    if mode == "sim":
        from balise.lab import sim  # noqa: PLC0415 - loads the collector only when needed

        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        results = [
            sim.run(
                s,
                influx_url=influx_url,
                influx_db=influx_db,
                sqlite_path=keep / f"{s.name}.sqlite3" if keep is not None else None,
            )
            for s in loaded
        ]
        return [(r.events, r.t0) for r in results]
    if os.geteuid() != 0:
        raise LabEnvironmentError("netns mode needs root (network namespaces, nftables)")
    try:
        # Imported by name: the netns lab is optional and needs root.
        netns = importlib.import_module("balise.lab.netns.runner")
    except ImportError as exc:
        raise LabEnvironmentError(f"netns mode is not available here: {exc}") from exc
    runs: list[tuple[Sequence[Event], float]] = list(
        netns.run_netns(loaded, influx_url=influx_url, influx_db=influx_db, parallel=parallel)
    )
    return runs
