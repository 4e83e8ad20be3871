"""Sockets inside a lab namespace, made from a process that stays in its own.

A socket belongs for life to the network namespace it was created in, so the
calling thread enters the namespace (setns(2)), creates the socket and comes
back; connecting, reading and writing then happen as usual, from any thread.
Python 3.11 has no os.setns, hence ctypes.
"""

import contextlib
import ctypes
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from balise.lab.netns.commands import LabError

_CLONE_NEWNET = 0x40000000
_NETNS_DIR = Path("/run/netns")
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise LabError(f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def entered(ns: str) -> Iterator[None]:
    """The calling thread is in `ns` for the duration of the block."""
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    except OSError as exc:
        raise LabError(f"own network namespace: {exc.strerror}") from exc
    try:
        try:
            target = os.open(_NETNS_DIR / ns, os.O_RDONLY)
        except OSError as exc:
            raise LabError(f"namespace {ns}: {exc.strerror}") from exc
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def socket_in(
    ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM
) -> socket.socket:
    with entered(ns):
        return socket.socket(family, kind)
