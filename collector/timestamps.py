"""Which time a message is stored at, when the probe's wall clock cannot be trusted.

A Pi has no real-time clock: after a reboot without NTP its clock may read 1970,
or a wrong time zone setting may put it hours ahead. The stateless rules:

- a time before 2020-01-01, or more than `FUTURE_TOLERANCE_S` after the
  collector received the message, is impossible: the message is *clock suspect*;
- a round's wall clock is *trusted* when the probe says it is NTP-synchronised,
  carries no deliberate offset and is not clock suspect: the round is stored at
  `started`, exactly as measured;
- any other round is placed by its boot's monotonic clock (collector.clocks);
  statuses and heartbeats, which carry no monotonic clock, are stored at their
  own time unless it is impossible, then at their arrival.

docs/durability.md states the whole rule and why it makes re-deliveries idempotent.
"""

from dataclasses import dataclass
from typing import Final

from balise.model.messages import Round

EPOCH_2020: Final = 1_577_836_800.0
FUTURE_TOLERANCE_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class Placement:
    """The time a round is stored at, and whether it is the probe's own wall clock."""

    at: float  # unix seconds
    wall_clock: bool  # `Round.started` as sent; False: placed by the boot's monotonic clock


def clock_suspect(measured: float, received_at: float) -> bool:
    return measured < EPOCH_2020 or measured > received_at + FUTURE_TOLERANCE_S


def storage_time(measured: float, received_at: float) -> float:
    """The time to store a message at: `measured`, unless impossible, then `received_at`."""
    return received_at if clock_suspect(measured, received_at) else measured


def wall_clock_trusted(round_: Round, received_at: float) -> bool:
    clock = round_.clock
    return clock.synced and clock.offset_s == 0 and not clock_suspect(round_.started, received_at)


def placed_without_history(round_: Round, received_at: float) -> Placement:
    """The stateless placement, for a round that did not come through ingest's clocks."""
    if wall_clock_trusted(round_, received_at):
        return Placement(round_.started, wall_clock=True)
    return Placement(storage_time(round_.started, received_at), wall_clock=False)
