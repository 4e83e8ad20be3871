"""A bounded queue of events waiting for one output, counting what it delivers and drops."""

import asyncio
import collections
import logging

from balise.model.events import Event
from collector.counters import Counters
from collector.throttled_log import ThrottledLog

log = logging.getLogger(__name__)


class EventQueue:
    """The head event stays queued until the output has delivered it or given up on it.

    When full, the oldest event is dropped, counted and logged (not every time): a later version of
    an event carries its whole state, so the newest are the ones worth keeping.
    """

    def __init__(self, name: str, counters: Counters, *, capacity: int) -> None:
        self.name = name
        self._counters = counters
        self._events: collections.deque[Event] = collections.deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self._log = ThrottledLog(log)

    def put(self, event: Event) -> None:
        if len(self._events) >= self._capacity:
            dropped = self._events.popleft()
            self._count(self._counters.delivery_dropped)
            self._log.warning("full", f"{self.name}: queue full, dropped event {dropped.id}")
        self._events.append(event)
        self._ready.set()

    async def head(self) -> Event:
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        return self._events[0]

    def delivered(self) -> None:
        self._events.popleft()
        self._count(self._counters.delivered)

    def give_up(self) -> None:
        self._events.popleft()
        self._count(self._counters.delivery_dropped)

    def __len__(self) -> int:
        return len(self._events)

    def _count(self, counter: dict[str, int]) -> None:
        counter[self.name] = counter.get(self.name, 0) + 1
