"""A validated message as ingest hands it on: the decoded struct, its bytes, its arrival."""

from dataclasses import dataclass

from balise.model.messages import Heartbeat, Round, Status
from collector.timestamps import Placement


@dataclass(frozen=True, slots=True)
class Received:
    message: Round | Status | Heartbeat
    payload: bytes  # the JSON as it arrived, kept for the raw archive (SQLite)
    received_at: float  # collector wall-clock time, unix seconds
    # A round's time as ingest placed it (collector.clocks); None: not a round, or a round
    # that did not come through ingest (the stateless rule applies).
    placement: Placement | None = None
