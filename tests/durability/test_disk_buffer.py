"""The collector's disk buffer: what the store cannot take is kept on disk, acknowledged,
and drained in order when the store is back; a stop with the store down loses nothing."""

import asyncio
from collections.abc import Sequence

from balise import wire
from balise.model.events import Event
from collector.counters import Counters
from collector.errors import UnavailableError
from collector.received import Received
from collector.stores.batching import BatchWriter
from collector.stores.spill import Spill
from collector.timestamps import Placement
from tests.support.rounds import make_heartbeat, make_round, make_status

T = 1_750_000_000.0


class SwitchableStore:
    """A store that is down while `up` is clear; records the seqs it stored, in order."""

    def __init__(self, *, up: bool = True) -> None:
        self.up = asyncio.Event()
        if up:
            self.up.set()
        self.stored: list[Received] = []
        self.attempts = 0

    @property
    def seqs(self) -> list[int]:
        return [r.message.seq for r in self.stored]  # type: ignore[union-attr]

    async def write(self, batch: Sequence[Received]) -> int:
        self.attempts += 1
        if not self.up.is_set():
            raise UnavailableError("connection refused")
        self.stored += batch
        return len(batch)

    async def write_events(self, events: Sequence[Event]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def received(seq: int) -> Received:
    round_ = make_round(seq=seq, started=T + 60 * seq)
    placement = Placement(T + 60 * seq + 0.5, wall_clock=False)
    return Received(round_, wire.encode(round_), T + 60 * seq, placement)


def writer(store, tmp_path, acked=None, **kwargs):
    return BatchWriter(
        store,
        kwargs.pop("counters", Counters()),
        batch_size=kwargs.pop("batch_size", 2),
        interval_s=0.02,
        backoff_cap_s=0.05,
        on_done=(lambda batch: acked.extend(r.message.seq for r in batch))
        if acked is not None
        else None,
        spill_path=tmp_path / "spill.sqlite3",
        **kwargs,
    )


async def wait_for(condition, timeout=5.0):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_store_outage_goes_to_disk_is_acknowledged_and_drained_in_order(tmp_path):
    store, counters, acked = SwitchableStore(up=False), Counters(), []
    async with writer(store, tmp_path, acked, counters=counters) as w:
        for seq in range(1, 5):
            w.offer(received(seq))
        await wait_for(lambda: acked == [1, 2, 3, 4])
        assert counters.spilled == 4
        assert store.stored == []
        store.up.set()
        for seq in range(5, 7):  # arrive while the disk buffer drains: they queue behind it
            w.offer(received(seq))
        await wait_for(lambda: len(store.stored) == 6)
        await wait_for(lambda: counters.spilled == 0)  # the buffer forgets what it drained
    assert store.seqs == [1, 2, 3, 4, 5, 6]
    assert acked == [1, 2, 3, 4, 5, 6]  # each acknowledged once
    assert counters.stored_rounds == 6


async def test_a_drained_round_keeps_its_message_and_placement(tmp_path):
    store = SwitchableStore(up=False)
    status, heartbeat = make_status("p1"), make_heartbeat("p1")
    items = [
        received(1),
        Received(status, wire.encode(status), T),
        Received(heartbeat, wire.encode(heartbeat), T),
    ]
    async with writer(store, tmp_path, batch_size=3) as w:
        for item in items:
            w.offer(item)
        await wait_for(lambda: Spill(tmp_path / "spill.sqlite3").count == 3)
        store.up.set()
        await wait_for(lambda: len(store.stored) == 3)
    assert store.stored == items


async def test_stopping_with_the_store_down_puts_memory_on_disk_for_the_next_start(tmp_path):
    store, acked = SwitchableStore(up=False), []
    w = writer(store, tmp_path, acked, batch_size=100)
    w._interval_s = 3600  # nothing is flushed before the stop
    async with w:
        for seq in range(1, 4):
            w.offer(received(seq))
    assert acked == [1, 2, 3]
    assert w.pending == 0
    # The next start finds them on disk and writes them once the store answers.
    store.up.set()
    async with writer(store, tmp_path) as again:
        await wait_for(lambda: len(store.stored) == 3)
        await wait_for(lambda: Spill(tmp_path / "spill.sqlite3").count == 0)  # drained after
        assert again.pending == 0
    assert store.seqs == [1, 2, 3]


async def test_a_full_disk_buffer_holds_the_rest_in_memory_unacknowledged(tmp_path):
    store, acked = SwitchableStore(up=False), []
    size = len(received(1).payload)
    async with writer(store, tmp_path, acked, spill_max_bytes=size * 5) as w:
        for seq in range(1, 7):
            w.offer(received(seq))
        await asyncio.sleep(0.3)
        on_disk = Spill(tmp_path / "spill.sqlite3").count
        assert 0 < on_disk < 6
        assert acked == list(range(1, on_disk + 1))  # only what is durable is acknowledged
        assert w.pending == 6 - on_disk
        store.up.set()
        await wait_for(lambda: len(store.stored) == 6)
    assert sorted(store.seqs) == [1, 2, 3, 4, 5, 6]
