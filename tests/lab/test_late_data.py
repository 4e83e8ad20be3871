"""A full shutdown, reconstructed after the fact from rounds that arrive late.

The mobile networks of sn-mobile-data-shutdown are cut from 80 s to 230 s; their
probes keep measuring, and what they measured reaches the collector only after the
cut ends. The stored rounds and the event must both say so.
"""

import sqlite3
from pathlib import Path

from balise.lab import scenario as scenarios
from balise.lab.sim import run_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "sn-mobile-data-shutdown.toml"
CUT = ("sn-orange-1", "sn-orange-2", "sn-free-1", "sn-free-2")


async def test_rounds_measured_during_a_shutdown_arrive_afterwards(tmp_path):
    world = scenarios.load(SCENARIO)
    [cut] = world.action
    store = tmp_path / "sim.sqlite3"
    result = await run_scenario(world, sqlite_path=store)
    t0 = result.t0
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT probe, time, received, late FROM rounds WHERE probe IN (?, ?, ?, ?)", CUT
        ).fetchall()
    margin = world.round_s / 2  # a round under way when the cut begins or ends may go out live
    during = [
        (p, t - t0, r - t0, late)
        for p, t, r, late in rows
        if cut.at_s + margin < t - t0 < cut.until_s - margin
    ]
    assert len(during) >= len(CUT) * 10  # ~15 rounds each, measured while cut off
    assert all(late for *_, late in during)
    assert all(received >= cut.until_s for _, _, received, _ in during)

    [event] = [e for e in result.events if e.kind == "network_shutdown"]
    assert event.method == "full"
    tolerance = world.tolerance(world.expect[0])
    assert abs(event.start - t0 - cut.at_s) <= tolerance
    assert event.end is not None
    assert abs(event.end - t0 - cut.until_s) <= tolerance
    # the event was first emitted during the cut, from silence alone, then refined
    assert cut.at_s < event.first_emitted - t0 < cut.until_s
