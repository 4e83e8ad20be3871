"""BatchWriter: batches by size or interval, retries an unavailable store, isolates a refused
message, refuses past its capacity, and stores everything buffered when it stops."""

import asyncio
from collections.abc import Sequence

from balise.model.events import Event
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.stores.batching import BatchWriter
from tests.support.rounds import make_round


class ScriptedStore:
    """A store that is down for its first `down` writes and refuses any batch holding a
    round whose seq is in `poison`; records what it stored."""

    def __init__(self, *, down: int = 0, poison: frozenset[int] = frozenset()) -> None:
        self.down = down
        self.poison = poison
        self.attempts = 0
        self.stored: list[int] = []
        self.written = asyncio.Event()

    async def write(self, batch: Sequence[Received]) -> int:
        self.attempts += 1
        if self.attempts <= self.down:
            raise UnavailableError("connection refused")
        seqs = [r.message.seq for r in batch]  # type: ignore[union-attr]
        if self.poison & set(seqs):
            raise RejectedError("field type conflict")
        self.stored += seqs
        self.written.set()
        return len(seqs) * 3

    async def write_events(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def received(seq: int) -> Received:
    return Received(make_round(seq=seq), b"{}", 1_750_000_000.0)


async def test_a_full_batch_is_written_without_waiting_for_the_interval():
    store, counters = ScriptedStore(), Counters()
    async with BatchWriter(store, counters, batch_size=3, interval_s=60) as writer:
        for seq in (1, 2, 3):
            assert writer.offer(received(seq))
        await asyncio.wait_for(store.written.wait(), 2)
        assert store.stored == [1, 2, 3]
        assert counters.stored_rounds == 3
        assert counters.stored_points == 9
        assert counters.buffered == 0


async def test_a_partial_batch_is_written_after_the_interval():
    store = ScriptedStore()
    async with BatchWriter(store, Counters(), batch_size=100, interval_s=0.05) as writer:
        writer.offer(received(1))
        await asyncio.wait_for(store.written.wait(), 2)
    assert store.stored == [1]


async def test_an_unavailable_store_is_retried_until_it_takes_the_batch():
    store, counters = ScriptedStore(down=2), Counters()
    async with BatchWriter(store, counters, batch_size=2, interval_s=60) as writer:
        writer.offer(received(1))
        writer.offer(received(2))
        await asyncio.wait_for(store.written.wait(), 5)
    assert store.stored == [1, 2]
    assert counters.store_failures == 2
    assert counters.last_store_error == "connection refused"
    assert counters.store_ok
    assert counters.store_dropped == 0


async def test_a_refused_batch_is_split_until_only_the_bad_message_is_dropped():
    store, counters = ScriptedStore(poison=frozenset({5})), Counters()
    async with BatchWriter(store, counters, batch_size=8, interval_s=60) as writer:
        for seq in range(1, 9):
            writer.offer(received(seq))
        await writer.flush()
    assert sorted(store.stored) == [1, 2, 3, 4, 6, 7, 8]
    assert store.stored[:4] == [1, 2, 3, 4]  # order kept within what is stored
    assert counters.store_dropped == 1
    assert counters.stored_rounds == 7


async def test_past_capacity_offers_are_refused():
    writer = BatchWriter(ScriptedStore(), Counters(), capacity=2)
    assert writer.offer(received(1))
    assert writer.offer(received(2))
    assert not writer.offer(received(3))
    assert writer.pending == 2


async def test_stopping_stores_everything_buffered():
    store = ScriptedStore(down=1)
    async with BatchWriter(store, Counters(), batch_size=2, interval_s=60) as writer:
        for seq in range(1, 6):
            writer.offer(received(seq))
    assert sorted(store.stored) == [1, 2, 3, 4, 5]


async def test_stopping_gives_up_after_the_timeout_when_the_store_stays_down(caplog):
    store = ScriptedStore(down=10**9)
    writer = BatchWriter(store, Counters(), interval_s=60, stop_timeout_s=0.3)
    async with writer:
        writer.offer(received(1))
    assert writer.pending == 1
    assert "1 messages not stored" in caplog.text
