"""What every store does. Implementations raise only collector.errors on failure."""

from collections.abc import Sequence
from typing import Protocol

from balise.model.events import Event
from collector.received import Received


class Store(Protocol):
    async def write(self, batch: Sequence[Received]) -> int:
        """Store a batch of rounds, statuses and heartbeats; return the points or rows written.

        Writing the same message again must not duplicate it.
        Raises `Unavailable` (retry later) or `Rejected` (this batch can never be stored).
        """
        ...

    async def write_events(self, events: Sequence[Event]) -> None:
        """Store events; a newer version of an event replaces the older one."""
        ...

    async def close(self) -> None: ...
