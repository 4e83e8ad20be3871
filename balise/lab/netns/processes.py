"""The lab's processes: started inside namespaces, stopped by name, all stopped on exit.

Each runs as `ip netns exec NS ...` in its own session, with its output in a log
file of the run directory, and dies with the lab if the lab itself is killed
(PR_SET_PDEATHSIG); `cleanup` catches whatever escapes even that.
"""

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from balise.lab.netns.commands import LabError, in_ns
from balise.lab.netns.nsenter import socket_in

READY = "ready"  # what a server started with ReadyLine prints once it serves
READY_TIMEOUT_S = 20.0
STOP_GRACE_S = 3.0
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, slots=True)
class ReadyLine:
    """The process prints `ready` on stdout once it serves."""


@dataclass(frozen=True, slots=True)
class ReadyPort:
    """The process serves once address:port accepts TCP connections inside its namespace."""

    address: str
    port: int


Ready = ReadyLine | ReadyPort | None


@dataclass(frozen=True, slots=True)
class Spec:
    name: str  # unique within the lab, e.g. "platform:tiktok"
    ns: str
    argv: tuple[str, ...]
    ready: Ready = None


def _die_with_parent() -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Processes:
    """Owns every process of one lab; `async with` stops them all on the way out."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: dict[str, tuple[Spec, asyncio.subprocess.Process]] = {}

    async def __aenter__(self) -> Self:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_all()

    def running(self, name: str) -> bool:
        entry = self._running.get(name)
        return entry is not None and entry[1].returncode is None

    def exited(self) -> dict[str, int]:
        """The processes that ended without being told to, and their exit status."""
        return {
            name: process.returncode
            for name, (_, process) in self._running.items()
            if process.returncode is not None
        }

    async def start(self, spec: Spec) -> None:
        if self.running(spec.name):
            raise LabError(f"{spec.name} is already running")
        log_path = self.log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', spec.name)}.log"
        with log_path.open("ab") as log:
            spawn = asyncio.ensure_future(
                asyncio.create_subprocess_exec(
                    *in_ns(spec.ns, *spec.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if isinstance(spec.ready, ReadyLine) else log,
                    stderr=log,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            )
            try:
                process = await asyncio.shield(spawn)
            except asyncio.CancelledError:
                # Cancelled while forking: the process may exist, so own it and stop it.
                self._running[spec.name] = (spec, await spawn)
                raise
        self._running[spec.name] = (spec, process)
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await _wait_ready(spec, process)
        except (TimeoutError, LabError) as exc:
            await self.kill(spec.name)
            tail = log_path.read_text(errors="replace")[-2000:]
            raise LabError(f"{spec.name} did not start ({exc or 'timeout'}): {tail}") from None

    async def kill(self, name: str) -> None:
        """SIGKILL: the power cut, the crash."""
        await self._signal_and_wait(name, signal.SIGKILL, grace=None)

    async def stop(self, name: str) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        await self._signal_and_wait(name, signal.SIGTERM, grace=STOP_GRACE_S)

    async def stop_all(self) -> None:
        names = list(self._running)
        async with asyncio.TaskGroup() as group:
            for name in names:
                group.create_task(self.stop(name), name=f"stop:{name}")

    async def _signal_and_wait(self, name: str, sig: int, grace: float | None) -> None:
        entry = self._running.pop(name, None)
        if entry is None:
            return
        process = entry[1]
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            if grace is not None:
                try:
                    async with asyncio.timeout(grace):
                        await process.wait()
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _wait_ready(spec: Spec, process: asyncio.subprocess.Process) -> None:
    match spec.ready:
        case ReadyLine():
            assert process.stdout is not None
            line = await process.stdout.readline()
            if line.decode(errors="replace").strip() != READY:
                raise LabError(f"exited with status {await process.wait()}")
        case ReadyPort(address, port):
            while not await _accepts(spec.ns, address, port):
                if process.returncode is not None:
                    raise LabError(f"exited with status {process.returncode}")
                await asyncio.sleep(0.05)
        case None:
            pass


async def _accepts(ns: str, address: str, port: int) -> bool:
    sock = socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)  # noqa: FBT003 - the socket API
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except OSError:
        return False
    else:
        return True
    finally:
        sock.close()


def announce_ready() -> None:
    """Called by a server program once it serves (see ReadyLine)."""
    sys.stdout.write(f"{READY}\n")
    sys.stdout.flush()


def argv_of(module: str, *args: str | Path) -> tuple[str, ...]:
    """A lab server module run with this Python."""
    return (sys.executable, "-m", module, *(str(a) for a in args))
