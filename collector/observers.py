"""What ingest feeds (observers, e.g. the detector) and what the service drives (the detector).

Protocols only: the collector never imports the detector's package.
"""

from typing import Protocol

from balise.model.events import Event
from balise.model.messages import Heartbeat, Round, Status


class Observer(Protocol):
    """Sees every valid, new message as it arrives. Must be fast and must not block."""

    def observe_round(self, round_: Round, received_at: float) -> None: ...
    def observe_status(self, status: Status, received_at: float) -> None: ...
    def observe_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None: ...


class Detector(Observer, Protocol):
    def evaluate(self, now: float) -> list[Event]:
        """Re-assess every scope at `now`; return the events that opened, changed or closed."""
        ...

    def events(self) -> list[Event]:
        """Every event the detector currently knows, open and recently closed."""
        ...

    def snapshot(self) -> bytes:
        """The detector's whole state, to restore it after a restart."""
        ...

    def was_away(self) -> None:
        """The collector heard no probe for a while: their silence then is not evidence."""
        ...
