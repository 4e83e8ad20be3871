"""Which time a message is stored at, when the probe's wall clock cannot be trusted.

A Pi has no real-time clock: after a reboot without NTP its clock may read 1970,
or a wrong time zone setting may put it hours ahead. The rule:

- a time before 2020-01-01, or more than `FUTURE_TOLERANCE_S` after the
  collector received the message, is impossible: the message is *clock suspect*;
- a clock-suspect message is stored at the time the collector received it, and
  flagged (`clock_suspect=true`) so the detector and dashboards can tell;
- any other time is kept as the probe measured it, so a round replayed late from
  the probe's spool lands where it was measured.
"""

from typing import Final

EPOCH_2020: Final = 1_577_836_800.0
FUTURE_TOLERANCE_S: Final = 300.0


def clock_suspect(measured: float, received_at: float) -> bool:
    return measured < EPOCH_2020 or measured > received_at + FUTURE_TOLERANCE_S


def storage_time(measured: float, received_at: float) -> float:
    """The time to store a message at: `measured`, unless impossible, then `received_at`."""
    return received_at if clock_suspect(measured, received_at) else measured
