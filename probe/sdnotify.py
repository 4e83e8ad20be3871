"""sd_notify(3) in the standard library: tell systemd the probe is ready, then alive.

Under `Type=notify` systemd waits for READY=1; with `WatchdogSec=` it restarts the
probe when WATCHDOG=1 stops arriving. The pings come from a task on the probe's own
event loop, so a blocked or wedged loop stops them. Outside systemd ($NOTIFY_SOCKET
unset) everything here is a no-op.
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


def notify(state: str, *, environ: Mapping[str, str] = os.environ) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; False when not under systemd or it failed."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # the abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("sd_notify %r to %r failed: %s", state, address, exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between watchdog pings (half of $WATCHDOG_USEC), or None when none are due.

    $WATCHDOG_PID, when set, names the process the watchdog is meant for: a child that
    inherited the environment must not ping on its parent's behalf.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2_000_000


class SystemdNotifier:
    """READY=1 on entry, WATCHDOG=1 every half watchdog period (task `sd-watchdog`),
    STOPPING=1 on exit."""

    def __init__(self, *, environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        notify("READY=1", environ=self._environ)
        interval = watchdog_interval(self._environ)
        if interval is not None:
            self._task = asyncio.create_task(self._ping(interval), name="sd-watchdog")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        notify("STOPPING=1", environ=self._environ)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _ping(self, interval: float) -> None:
        while True:
            notify("WATCHDOG=1", environ=self._environ)
            await asyncio.sleep(interval)
