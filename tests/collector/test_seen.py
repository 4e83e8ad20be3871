"""Round dedupe: which seqs of a probe arrived, in bounded memory."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from collector.seen import SeenSeqs


def test_in_order_rounds_need_one_range():
    seen = SeenSeqs()
    for seq in range(1, 10_001):
        assert seq not in seen
        seen.add(seq)
        assert seq in seen
    assert seen.ranges() == [(1, 10_000)]


def test_gaps_then_fill_merge_ranges():
    seen = SeenSeqs()
    for seq in (10, 12, 11, 5, 6, 20):
        seen.add(seq)
    assert seen.ranges() == [(5, 6), (10, 12), (20, 20)]
    for seq in (7, 8, 9):
        seen.add(seq)
    assert seen.ranges() == [(5, 12), (20, 20)]
    assert 4 not in seen
    assert 13 not in seen


def test_past_the_bound_the_oldest_range_is_forgotten_so_a_replay_is_accepted():
    seen = SeenSeqs(max_ranges=3)
    for seq in (1, 3, 5, 7):
        seen.add(seq)
    assert len(seen.ranges()) == 3
    assert 1 not in seen  # forgotten: accepted again, never wrongly dropped
    assert all(s in seen for s in (3, 5, 7))


@given(st.lists(st.integers(min_value=1, max_value=200), max_size=300))
def test_agrees_with_a_set_while_under_the_bound(seqs):
    seen = SeenSeqs(max_ranges=1000)
    model: set[int] = set()
    for seq in seqs:
        assert (seq in seen) == (seq in model)
        seen.add(seq)
        model.add(seq)
    ranges = seen.ranges()
    assert {s for lo, hi in ranges for s in range(lo, hi + 1)} == model
    assert all(hi + 1 < lo for (_, hi), (lo, _) in itertools.pairwise(ranges))


@given(st.lists(st.integers(min_value=1, max_value=500), max_size=300))
def test_never_claims_a_seq_it_was_not_given(seqs):
    seen = SeenSeqs(max_ranges=4)
    for seq in seqs:
        seen.add(seq)
        assert len(seen.ranges()) <= 4
    assert all(s in set(seqs) for lo, hi in seen.ranges() for s in range(lo, hi + 1))
