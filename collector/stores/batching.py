"""Batches validated messages to a store; what the store cannot take goes to a disk buffer.

Memory is bounded: at `capacity` buffered messages `offer` refuses, the caller
counts the refusal (`rejected["buffer_full"]`) and the message is not marked as
seen, so a re-delivery is accepted later (the probe's spool replays what the
collector has not acknowledged).

With a disk buffer (`spill_path`, collector/stores/spill.py), a batch the store
cannot take now is written there durably and counts as done (`on_done`, which
acknowledges it to its probe); while the disk buffer holds anything, new batches
join it behind the older ones, and a drain task (`collector.spill-drain`) writes
them to the store oldest first once it is back. Without one, or when it is full,
a store that is down is retried with backoff for as long as it takes.

Up to `writers` batches are written at once (`[batch] writers`): InfluxDB parses one
request on one core, so a store with cores to spare can take a second batch meanwhile.
Order does not matter: points are keyed by their own time, and acknowledgements by each
probe's stored seqs.

Nothing accepted is dropped silently: a batch the store refuses for good is
split in halves until the one refused message is found, logged and counted
(`store_dropped`). A graceful stop writes what is in memory to the store, or to
the disk buffer if the store is down (docs/durability.md).
"""

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from balise import backoff
from balise.model.messages import Round
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.stores.spill import Spill
from collector.stores.store import Store
from collector.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class BatchWriter:
    def __init__(
        self,
        store: Store,
        counters: Counters,
        *,
        batch_size: int = 1000,
        interval_s: float = 1.0,
        writers: int = 1,
        capacity: int = 50_000,
        backoff_cap_s: float = 30.0,
        stop_timeout_s: float = 30.0,
        on_done: Callable[[Sequence[Received]], None] | None = None,
        spill_path: Path | None = None,
        spill_max_bytes: int = 1024 * 1024 * 1024,
    ) -> None:
        """`on_done` hears of every message stored, durably in the disk buffer, or refused by
        the store for good."""
        self._store = store
        self._on_done = on_done
        self._counters = counters
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._writers = writers
        self._capacity = capacity
        self._backoff_cap_s = backoff_cap_s
        self._stop_timeout_s = stop_timeout_s
        self._spill_path = spill_path
        self._spill_max_bytes = spill_max_bytes
        self._spill: Spill | None = None
        self._spill_full = False
        self._buffer: collections.deque[Received] = collections.deque()
        self._in_flight = 0  # taken from the buffer, being written
        self._batch_ready = asyncio.Event()
        self._spilled = asyncio.Event()  # the disk buffer holds something to drain
        self._spilling = asyncio.Lock()  # the disk buffer's one connection, one call at a time
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pending(self) -> int:
        """Messages accepted and not yet stored: buffered or being written."""
        return len(self._buffer) + self._in_flight

    def offer(self, item: Received) -> bool:
        """Buffer `item` for the store; False (nothing buffered) when the buffer is full."""
        if self.pending >= self._capacity:
            return False
        self._buffer.append(item)
        self._counters.buffered = self.pending
        if len(self._buffer) >= self._batch_size:
            self._batch_ready.set()
        return True

    async def flush(self) -> None:
        """Store everything buffered so far, or put it in the disk buffer if the store is down."""
        await self._write_while(1)

    async def _write_while(self, least: int) -> None:
        """Write batches while `least` messages are buffered; several calls at once each
        take batches of their own."""
        delays = backoff.delays(cap=self._backoff_cap_s)
        while len(self._buffer) >= least:
            batch = [
                self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))
            ]
            if len(self._buffer) < self._batch_size:
                self._batch_ready.clear()
            self._in_flight += len(batch)
            try:
                left = batch if self._spill_count() else await self._write_once(batch)
                if left and await self._to_spill(left):
                    left = []
            except BaseException:
                self._buffer.extendleft(reversed(batch))  # cancelled mid-write: not lost
                raise
            finally:
                self._in_flight -= len(batch)
            self._buffer.extendleft(reversed(left))  # first in line for the retry
            self._counters.buffered = self.pending
            if left:
                await self._wait_to_retry(next(delays))
            else:
                delays = backoff.delays(cap=self._backoff_cap_s)

    async def _write_once(
        self, batch: Sequence[Received], *, acknowledge: bool = True
    ) -> list[Received]:
        """Write `batch`, isolating messages the store refuses for good; return the tail
        left unwritten because the store is unavailable."""
        parts = [batch]  # a stack: a refused batch is replaced by its halves, first on top
        while parts:
            part = parts.pop()
            try:
                points = await self._store.write(part)
            except UnavailableError as exc:
                self._store_failed(exc)
                return [*part, *itertools.chain.from_iterable(reversed(parts))]
            except RejectedError as exc:
                parts += self._split_or_drop(part, exc, acknowledge=acknowledge)
                continue
            self._counters.store_ok = True
            self._counters.stored_points += points
            rounds = [r.message for r in part if isinstance(r.message, Round)]
            self._counters.stored_rounds += len(rounds)
            self._counters.stored_results += sum(len(r.targets) for r in rounds)
            if acknowledge and self._on_done is not None:
                self._on_done(part)
        return []

    async def _to_spill(self, items: Sequence[Received]) -> bool:
        """Keep `items` in the disk buffer and acknowledge them; False if it cannot."""
        if self._spill is None:
            return False
        try:
            async with self._spilling:
                kept = await asyncio.to_thread(self._spill.append, items)
        except UnavailableError as exc:
            log.error("disk buffer unavailable: %s", exc)  # noqa: TRY400 - no traceback needed
            return False
        if not kept:
            if not self._spill_full:  # said once, until it takes messages again
                log.error(
                    "disk buffer full (%d messages); holding the rest in memory", self._spill.count
                )
            self._spill_full = True
            return False
        self._spill_full = False
        self._counters.spilled = self._spill.count
        self._spilled.set()
        if self._on_done is not None:
            self._on_done(items)
        return True

    async def _drain(self) -> None:
        """Write the disk buffer to the store, oldest first, whenever it holds something."""
        assert self._spill is not None
        spill = self._spill
        delays = backoff.delays(cap=self._backoff_cap_s)
        while True:
            await self._spilled.wait()
            async with self._spilling:
                chunk = await asyncio.to_thread(spill.oldest, self._batch_size)
            left = await self._write_once([s.item for s in chunk], acknowledge=False)
            written = len(chunk) - len(left)
            async with self._spilling:
                if written:
                    await asyncio.to_thread(spill.remove, chunk[written - 1].id)
                self._counters.spilled = spill.count
                if not spill.count:
                    self._spilled.clear()
                    log.info("disk buffer drained")
            if left:
                await self._wait_to_retry(next(delays))
            else:
                delays = backoff.delays(cap=self._backoff_cap_s)

    def _spill_count(self) -> int:
        return self._spill.count if self._spill is not None else 0

    async def _wait_to_retry(self, delay: float) -> None:
        log.warning(
            "store unavailable (%s); %d in memory, %d on disk, retrying in %.1fs",
            self._counters.last_store_error,
            len(self._buffer),
            self._spill_count(),
            delay,
        )
        await asyncio.sleep(delay)

    def _split_or_drop(
        self, part: Sequence[Received], exc: RejectedError, *, acknowledge: bool
    ) -> list[Sequence[Received]]:
        """The halves of a refused batch to try on their own, or none once it is one message."""
        self._store_failed(exc)
        if len(part) > 1:
            half = len(part) // 2
            return [part[half:], part[:half]]  # a stack: the first half goes next
        self._counters.store_dropped += 1
        log.error("store refused %s for good: %s", _describe(part[0]), exc)
        if acknowledge and self._on_done is not None:
            self._on_done(part)  # given up: the probe must not resend it forever
        return []

    def _store_failed(self, exc: Exception) -> None:
        self._counters.store_failures += 1
        self._counters.store_ok = False
        self._counters.last_store_error = str(exc)
        self._counters.last_store_error_at = time.time()

    async def _run(self) -> None:
        """The first writer: full batches at once, what waited `interval_s` then."""
        while True:
            try:
                async with asyncio.timeout(self._interval_s):
                    await self._batch_ready.wait()
            except TimeoutError:
                pass
            await self.flush()

    async def _help(self) -> None:
        """Another writer: full batches only, while the first is busy with one."""
        while True:
            await self._batch_ready.wait()
            await self._write_while(self._batch_size)
            if len(self._buffer) < self._batch_size:
                self._batch_ready.clear()

    async def __aenter__(self) -> Self:
        if self._spill_path is not None:
            self._spill = await asyncio.to_thread(
                Spill, self._spill_path, max_bytes=self._spill_max_bytes
            )
            self._counters.spilled = self._spill.count
            self._tasks.append(asyncio.create_task(self._drain(), name="collector.spill-drain"))
            if self._spill.count:
                log.info("disk buffer holds %d messages from before", self._spill.count)
                self._spilled.set()
        self._tasks.append(asyncio.create_task(self._run(), name="collector.batch-writer-1"))
        self._tasks += [
            asyncio.create_task(self._help(), name=f"collector.batch-writer-{n}")
            for n in range(2, self._writers + 1)
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        try:
            async with asyncio.timeout(self._stop_timeout_s):
                await self.flush()
        except TimeoutError:
            pass
        if self._buffer:
            log.error(
                "stopping with %d messages not stored: the store stayed unavailable",
                len(self._buffer),
            )
        if self._spill is not None:
            if self._spill.count:
                log.info(
                    "%d messages wait in the disk buffer for the next start", self._spill.count
                )
            await asyncio.to_thread(self._spill.close)
            self._spill = None


def _describe(item: Received) -> str:
    message = item.message
    if isinstance(message, Round):
        return f"round {message.probe}#{message.seq}"
    return f"{type(message).__name__.lower()} of {message.probe}"
