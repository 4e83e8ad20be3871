"""Removing what a lab run made: its processes, namespaces and /etc/netns files.

The nftables tables, tc qdiscs, veths and addresses all live inside the lab's
namespaces and go with them. Removal is synchronous and ignores Ctrl-C while it
runs, so an impatient second Ctrl-C cannot leave half a lab behind.
"""

import contextlib
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from balise.lab.netns.addressing import PREFIX, RUN_ID_CHARS
from balise.lab.netns.commands import LabError, run_sync
from balise.lab.netns.topology import NETNS_ETC

LAB_NAMESPACE = re.compile(rf"^{PREFIX}[0-9a-f]{{{RUN_ID_CHARS}}}-[a-z0-9]+$")
_KILL_WAIT_S = 5.0


def lab_namespaces(run_id: str | None = None) -> list[str]:
    """The lab namespaces that exist, of one run or of every run."""
    listing = run_sync(("ip", "netns", "list"))
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [n for n in names if LAB_NAMESPACE.match(n) and _of_run(n, run_id)]


def remove_run(run_id: str) -> list[str]:
    """Remove everything of one run; return what was removed."""
    return _remove(run_id)


def clean_all() -> list[str]:
    """Remove the leftovers of every lab run (for `balise lab clean`); return what was removed."""
    return _remove(None)


def _remove(run_id: str | None) -> list[str]:
    removed: list[str] = []
    with _interrupts_ignored():
        namespaces = lab_namespaces(run_id)
        removed += _kill_processes(namespaces)
        for ns in namespaces:
            with contextlib.suppress(LabError):  # already gone: someone else cleaned it
                run_sync(("ip", "netns", "delete", ns))
                removed.append(f"namespace {ns}")
        if NETNS_ETC.is_dir():
            for directory in sorted(NETNS_ETC.iterdir()):
                if LAB_NAMESPACE.match(directory.name) and _of_run(directory.name, run_id):
                    shutil.rmtree(directory, ignore_errors=True)
                    removed.append(f"directory {directory}")
    return removed


def _of_run(name: str, run_id: str | None) -> bool:
    return run_id is None or name.startswith(f"{PREFIX}{run_id}-")


def _kill_processes(namespaces: list[str]) -> list[str]:
    pids: dict[int, str] = {}
    for ns in namespaces:
        with contextlib.suppress(LabError):
            for line in run_sync(("ip", "netns", "pids", ns)).split():
                pids[int(line)] = ns
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + _KILL_WAIT_S
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.02)
    return [f"process {pid} in {ns}" for pid, ns in pids.items()]


def _alive(pid: int) -> bool:
    """Still running: neither gone nor a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        return stat.rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
