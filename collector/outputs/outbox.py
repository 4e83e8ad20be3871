"""Delivers queued events to one output in a named task, retrying with backoff."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from balise import backoff
from balise.model.events import Event
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.outputs.queue import EventQueue
from collector.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Send = Callable[[Event], Awaitable[None]]


class Outbox:
    def __init__(
        self,
        name: str,
        send: Send,
        counters: Counters,
        *,
        capacity: int = 1000,
        max_attempts: int | None = None,  # None: retry until delivered
        backoff_cap_s: float = 60.0,
    ) -> None:
        self._queue = EventQueue(name, counters, capacity=capacity)
        self._send = send
        self._counters = counters
        self._max_attempts = max_attempts
        self._backoff_cap_s = backoff_cap_s
        self._task: asyncio.Task[None] | None = None

    def put(self, event: Event) -> None:
        self._queue.put(event)

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while True:
            event = await self._queue.head()
            if await self._deliver(event):
                self._queue.delivered()
            else:
                self._queue.give_up()

    async def _deliver(self, event: Event) -> bool:
        """Send `event`, retrying; False once it is refused or out of attempts."""
        delays = backoff.delays(cap=self._backoff_cap_s)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._send(event)
            except UnavailableError as exc:
                self._failed()
                if self._max_attempts is not None and attempt >= self._max_attempts:
                    return self._give_up(event, f"failed {attempt} times, last: {exc}")
                delay = next(delays)
                log.warning("%s: %s; retrying in %.1fs", self._queue.name, exc, delay)
                await asyncio.sleep(delay)
            except RejectedError as exc:
                self._failed()
                return self._give_up(event, f"refused: {exc}")
            else:
                return True

    def _failed(self) -> None:
        failures = self._counters.delivery_failures
        failures[self._queue.name] = failures.get(self._queue.name, 0) + 1

    def _give_up(self, event: Event, why: str) -> bool:
        log.error("%s: gave up on event %s: %s", self._queue.name, event.id, why)
        return False

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=f"collector.outbox.{self._queue.name}")
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
        if self._queue:
            log.warning(
                "%s: stopping with %d events not delivered", self._queue.name, len(self._queue)
            )
