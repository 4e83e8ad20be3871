"""Placing rounds in time from their boot's monotonic clock: deterministic, persisted,
never in the future (collector/clocks.py, docs/durability.md)."""

import msgspec

from balise.model.messages import ClockInfo, Round
from collector.clocks import REANCHOR_S, BootClocks
from collector.timestamps import Placement
from tests.support.rounds import make_round

NOW = 1_750_000_000.0


def boot_round(
    seq: int, mono: float, *, boot: str = "b1", late: bool = False, synced: bool = False
) -> Round:
    """A round of probe p1 whose wall clock reads 1970 unless `synced`."""
    round_ = make_round(probe="p1", seq=seq, started=0.0, late=late, synced=synced)
    return msgspec.structs.replace(round_, clock=ClockInfo(mono=mono, boot_id=boot, synced=synced))


def test_a_trusted_wall_clock_is_kept_and_anchors_its_boot_exactly():
    clocks = BootClocks()
    synced = msgspec.structs.replace(
        boot_round(1, 500.0, synced=True), started=NOW - 10
    )  # measured 10 s before it arrived
    assert clocks.place(synced, NOW) == Placement(NOW - 10, wall_clock=True)
    assert clocks.anchor("p1", "b1") == (NOW - 10 - 500.0, "wall_clock")
    # The clock lost its sync later in the same boot: the anchor still places it exactly.
    assert clocks.place(boot_round(2, 560.0), NOW + 300) == Placement(NOW + 50, wall_clock=False)


def test_a_live_round_anchors_its_boot_and_a_redelivery_gets_the_same_time():
    clocks = BootClocks()
    first = clocks.place(boot_round(1, 100.0), NOW)
    assert first == Placement(NOW, wall_clock=False)
    second = clocks.place(boot_round(2, 160.0), NOW + 60.4)
    assert second == Placement(NOW + 60, wall_clock=False)
    # Re-delivered an hour later (a QoS 1 resend, a replay): the same time, the same points.
    assert clocks.place(boot_round(2, 160.0, late=True), NOW + 3600) == second


def test_a_late_round_of_an_unanchored_boot_waits_for_a_live_one():
    clocks = BootClocks()
    offline = [boot_round(seq, 60.0 * seq, late=True) for seq in (1, 2, 3)]
    assert [clocks.place(r, NOW) for r in offline] == [None, None, None]
    assert clocks.place(boot_round(4, 240.0), NOW + 5) == Placement(NOW + 5, wall_clock=False)
    # Sent again by the probe: now placed a minute apart, before the live round.
    placed = [clocks.place(r, NOW + 300) for r in offline]
    assert [p.at for p in placed if p] == [NOW - 175, NOW - 115, NOW - 55]


def test_anchors_survive_a_collector_restart(tmp_path):
    path = tmp_path / "clocks.sqlite3"
    clocks = BootClocks(path)
    clocks.place(boot_round(1, 100.0), NOW)
    before = clocks.place(boot_round(2, 160.0), NOW + 61)
    clocks.close()
    again = BootClocks(path)
    # The collector forgot what it had seen; the probe re-sends round 2 much later.
    assert again.place(boot_round(2, 160.0, late=True), NOW + 7200) == before
    again.close()


def test_a_boot_never_seen_live_ends_where_the_next_boot_began():
    clocks = BootClocks()
    # Boot b1 measured three rounds offline and rebooted; b2 came back online.
    first_boot = [boot_round(seq, 30.0 + 60 * seq, boot="b1", late=True) for seq in (1, 2, 3)]
    next_boot = boot_round(4, 20.0, boot="b2", late=True)
    live = boot_round(5, 80.0, boot="b2")
    assert [clocks.place(r, NOW) for r in first_boot] == [None, None, None]
    assert clocks.place(next_boot, NOW) is None
    assert clocks.place(live, NOW + 1) == Placement(NOW + 1, wall_clock=False)
    b2_start = NOW + 1 - 80.0
    assert clocks.place(next_boot, NOW + 400) == Placement(b2_start + 20, wall_clock=False)
    placed = [clocks.place(r, NOW + 400) for r in first_boot]
    assert [p.at for p in placed if p] == [b2_start - 120, b2_start - 60, b2_start]
    assert clocks.anchor("p1", "b1") == (b2_start - 210.0, "next_boot")


def test_an_anchor_learned_from_a_held_back_round_is_moved_back():
    clocks = BootClocks()
    # The broker held round 1 for an hour while the collector was down: a late anchor.
    clocks.place(boot_round(1, 100.0), NOW + 3600)
    fresh = clocks.place(boot_round(70, 4240.0), NOW + 4140 + 0.5)
    assert fresh == Placement(NOW + 4140.5, wall_clock=False)
    offset, source = clocks.anchor("p1", "b1") or (0.0, "")
    assert (offset, source) == (NOW + 4140.5 - 4240.0, "reanchored")


def test_no_round_is_placed_far_in_the_future():
    clocks = BootClocks()
    future = msgspec.structs.replace(boot_round(1, 100.0, synced=True), started=NOW + 86400)
    assert clocks.place(future, NOW) == Placement(NOW, wall_clock=False)
    for seq in range(2, 50):
        arrival = NOW + 60 * seq - 60
        placed = clocks.place(boot_round(seq, 40.0 + 60 * seq), arrival)
        assert placed is not None
        assert placed.at <= arrival + REANCHOR_S


def test_old_boots_are_forgotten_past_the_bound(tmp_path):
    clocks = BootClocks(tmp_path / "clocks.sqlite3", max_boots=2)
    for n in range(4):
        clocks.place(boot_round(n + 1, 10.0, boot=f"b{n}"), NOW + n)
    assert clocks.anchor("p1", "b0") is None
    assert clocks.anchor("p1", "b3") is not None
    clocks.close()
    reopened = BootClocks(tmp_path / "clocks.sqlite3", max_boots=2)
    assert reopened.anchor("p1", "b1") is None
    assert reopened.anchor("p1", "b2") == (NOW + 2 - 10.0, "arrival")
    reopened.close()
