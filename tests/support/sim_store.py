"""Scenarios of tests/scenarios run through the simulator into one SQLite store, kept
for export, API and status page tests. The scenarios share their virtual start time and
have distinct countries, so together they make one multi-country timeline."""

import asyncio
from pathlib import Path

from balise.lab import scenario
from balise.lab.sim import run_scenario
from balise.model.events import Event

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
MIXED = (
    "mm-curfew-shutdowns",
    "ir-instagram-sni-reset",
    "nc-tiktok-mobile-dns",
    "ru-twitter-throttle",
    "ir-signal-ip-reject",
)


async def simulate_into(path: Path, names: tuple[str, ...] = MIXED) -> list[Event]:
    """Run the scenarios into the SQLite file `path`; every event they produced."""
    events: list[Event] = []
    for name in names:
        result = await run_scenario(scenario.load(SCENARIOS / f"{name}.toml"), sqlite_path=path)
        events += result.events
    if len({e.id for e in events}) != len(events):
        raise AssertionError("two scenarios made events with the same id: choose others")
    return events


def simulate(path: Path, names: tuple[str, ...] = MIXED) -> list[Event]:
    return asyncio.run(simulate_into(path, names))
