"""How `balise bench ingest` reads the collector's stored count during its paced phase."""

import pytest

from balise.bench.ingest import Phase, _behind_max

RATE = 15_000.0
START = 1_000.0


def phase(seconds: float) -> Phase:
    return Phase(
        rounds=0,
        results=round(RATE * seconds),
        first_publish=START,
        last_publish=START + seconds,
        latencies=(),
        unacked=0,
        cpu_s=0.0,
    )


def samples(seconds: float, stored_at) -> list[tuple[float, int]]:
    """The stored count every 0.1 s, in steps of one batch a second as a collector stores."""
    times = [START + k / 10 for k in range(round(seconds * 10) + 1)]
    return [(t, round(stored_at(int(t)))) for t in times]


def test_a_collector_that_keeps_up_trails_the_fleet_by_its_batches():
    live = phase(60)
    # Each second's results are stored two seconds later, a batch at a time.
    stored = samples(62, lambda t: min(live.results, max(0.0, RATE * (t - START - 2))))
    behind, at = _behind_max(stored, live)
    assert behind == pytest.approx(3, abs=0.1)  # 2 s, and a batch's
    assert 2 <= at <= 60


def test_a_collector_that_falls_behind_trails_further_and_further():
    live = phase(60)
    stored = samples(120, lambda t: min(live.results, 0.5 * RATE * (t - START)))
    behind, at = _behind_max(stored, live)
    assert behind == pytest.approx(30, abs=0.5)  # half of 60 s, and a batch
    assert at == pytest.approx(60, abs=1)  # at the last publication


def test_a_stall_the_collector_recovers_from_shows_where_it_was():
    """As while InfluxDB writes its cache to disk: nothing stored for 10 s, then caught up."""
    live = phase(60)

    def stored_at(t: int) -> float:
        since = t - START
        if since < 20:  # the stall starts
            return RATE * since
        if since < 30:  # and ends
            return RATE * 20
        return min(live.results, RATE * 20 + 2 * RATE * (since - 30))

    behind, at = _behind_max(samples(62, stored_at), live)
    assert behind == pytest.approx(10, abs=1)
    assert at == pytest.approx(30, abs=1)
