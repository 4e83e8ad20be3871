"""Batches validated messages to a store, retrying until they are stored.

Memory is bounded: at `capacity` buffered messages `offer` refuses, the caller
counts the refusal (`rejected["buffer_full"]`) and the message is not marked as
seen, so a re-delivery is accepted later (the probe's spool replays what the
collector has not acknowledged; a later issue adds a disk buffer here).
Nothing that was accepted into the buffer is dropped silently: a store that is
down is retried with backoff for as long as it takes, and a batch the store
refuses for good is split in halves until the one refused message is found,
logged and counted (`store_dropped`).
"""

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from balise import backoff
from balise.model.messages import Round
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
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
        capacity: int = 50_000,
        backoff_cap_s: float = 30.0,
        stop_timeout_s: float = 30.0,
        on_done: Callable[[Sequence[Received]], None] | None = None,
    ) -> None:
        """`on_done` hears of every message stored, or refused by the store for good."""
        self._store = store
        self._on_done = on_done
        self._counters = counters
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._capacity = capacity
        self._backoff_cap_s = backoff_cap_s
        self._stop_timeout_s = stop_timeout_s
        self._buffer: collections.deque[Received] = collections.deque()
        self._batch_ready = asyncio.Event()
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def offer(self, item: Received) -> bool:
        """Buffer `item` for the store; False (nothing buffered) when the buffer is full."""
        if len(self._buffer) >= self._capacity:
            return False
        self._buffer.append(item)
        self._counters.buffered = len(self._buffer)
        if len(self._buffer) >= self._batch_size:
            self._batch_ready.set()
        return True

    async def flush(self) -> None:
        """Store everything buffered so far, retrying while the store is unavailable."""
        async with self._writing:
            while self._buffer:
                self._batch_ready.clear()
                batch = list(itertools.islice(self._buffer, self._batch_size))
                await self._write(batch)
                for _ in batch:
                    self._buffer.popleft()
                self._counters.buffered = len(self._buffer)

    async def _write(self, batch: Sequence[Received]) -> None:
        delays = backoff.delays(cap=self._backoff_cap_s)
        parts = [batch]  # a stack: a refused batch is replaced by its halves
        while parts:
            part = parts.pop()
            try:
                points = await self._store.write(part)
            except UnavailableError as exc:
                parts.append(part)
                await self._wait_to_retry(exc, next(delays))
                continue
            except RejectedError as exc:
                parts += self._split_or_drop(part, exc)
                continue
            delays = backoff.delays(cap=self._backoff_cap_s)
            self._counters.store_ok = True
            self._counters.stored_points += points
            rounds = [r.message for r in part if isinstance(r.message, Round)]
            self._counters.stored_rounds += len(rounds)
            self._counters.stored_results += sum(len(r.targets) for r in rounds)
            if self._on_done is not None:
                self._on_done(part)

    async def _wait_to_retry(self, exc: UnavailableError, delay: float) -> None:
        self._store_failed(exc)
        log.warning(
            "store unavailable (%s); %d buffered, retrying in %.1fs", exc, len(self._buffer), delay
        )
        await asyncio.sleep(delay)

    def _split_or_drop(
        self, part: Sequence[Received], exc: RejectedError
    ) -> list[Sequence[Received]]:
        """The halves of a refused batch to try on their own, or none once it is one message."""
        self._store_failed(exc)
        if len(part) > 1:
            half = len(part) // 2
            return [part[half:], part[:half]]  # a stack: the first half goes next
        self._counters.store_dropped += 1
        log.error("store refused %s for good: %s", _describe(part[0]), exc)
        if self._on_done is not None:
            self._on_done(part)  # given up: the probe must not resend it forever
        return []

    def _store_failed(self, exc: Exception) -> None:
        self._counters.store_failures += 1
        self._counters.store_ok = False
        self._counters.last_store_error = str(exc)
        self._counters.last_store_error_at = time.time()

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._interval_s):
                    await self._batch_ready.wait()
            except TimeoutError:
                pass
            await self.flush()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="collector.batch-writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
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


def _describe(item: Received) -> str:
    message = item.message
    if isinstance(message, Round):
        return f"round {message.probe}#{message.seq}"
    return f"{type(message).__name__.lower()} of {message.probe}"
