"""What the probe knows about its own clocks.

A Pi has no real-time clock: after a reboot without NTP its wall clock can be
days off. Each round records the monotonic time, the boot id and whether the
kernel considers the clock synchronised, so the collector can place it.
"""

import ctypes
import time
from dataclasses import dataclass
from pathlib import Path

from balise.model.messages import ClockInfo

_TIME_ERROR = 5  # adjtimex(2): "clock not synchronized"
_TIMEX_SIZE = 256  # struct timex is 208 bytes on 64-bit Linux; room to spare


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


def kernel_clock_synced() -> bool:
    """The kernel's NTP state, whatever daemon (timesyncd, chrony, ntpd) disciplines it."""
    # The interpreter's own symbols hold libc's: no search for the library (find_library
    # runs ldconfig in a subprocess, every round, and imports shutil, tempfile, bz2, lzma).
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(_TIMEX_SIZE)  # modes = 0: read only
    state = int(libc.adjtimex(buffer))
    return state not in (-1, _TIME_ERROR)


@dataclass(frozen=True, slots=True)
class ProbeClock:
    """The probe's clocks; `offset_s` shifts the wall clock (a lab test setting)."""

    offset_s: float = 0.0
    boot: str = ""

    def wall(self) -> float:
        return time.time() + self.offset_s

    def info(self, mono: float) -> ClockInfo:
        return ClockInfo(
            mono=mono,
            boot_id=self.boot or boot_id(),
            synced=kernel_clock_synced(),
            offset_s=self.offset_s,
        )
