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


class SlowStore(ScriptedStore):
    """Takes `seconds` per write; records how many writes were in flight at once."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.in_flight = 0
        self.most_in_flight = 0

    async def write(self, batch: Sequence[Received]) -> int:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.seconds)
            return await super().write(batch)
        finally:
            self.in_flight -= 1


async def test_a_backlog_is_written_by_several_writers_at_once():
    store, counters = SlowStore(0.05), Counters()
    async with BatchWriter(store, counters, batch_size=10, interval_s=60, writers=3) as writer:
        for seq in range(1, 101):
            assert writer.offer(received(seq))
        while counters.stored_rounds < 100:
            await asyncio.sleep(0.01)
    assert store.most_in_flight == 3
    assert sorted(store.stored) == list(range(1, 101))  # each once
    assert store.attempts == 10  # full batches only


async def test_one_writer_writes_one_batch_at_a_time():
    store = SlowStore(0.01)
    async with BatchWriter(store, Counters(), batch_size=10, interval_s=60, writers=1) as writer:
        for seq in range(1, 51):
            writer.offer(received(seq))
    assert store.most_in_flight == 1
    assert sorted(store.stored) == list(range(1, 51))


async def test_messages_being_written_count_against_the_capacity():
    store = SlowStore(0.2)
    async with BatchWriter(store, Counters(), batch_size=2, capacity=3, interval_s=60) as writer:
        assert writer.offer(received(1))
        assert writer.offer(received(2))
        await asyncio.sleep(0.05)  # the batch is taken and being written
        assert writer.pending == 2
        assert writer.offer(received(3))
        assert not writer.offer(received(4))
