"""Ping sockets for the bench's probe, so that its anchors ping as they do on a Pi.

A Pi's firmware and the Ansible role open unprivileged ICMP sockets to every group
(firmware/sysctl.d/60-balise-ping.conf); a fresh Debian host does not, and the anchors
then fall back to TCP. As root, the bench opens them for its run and puts the host's
setting back afterwards.
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")
EVERY_GROUP = "0 2147483647"  # the firmware's value (a test keeps the two alike)


def ping_sockets_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


@contextmanager
def ping_sockets_open(setting: Path = PING_GROUP_RANGE) -> Iterator[bool]:
    """Yield whether processes of this user may open ping sockets, opening them if need be."""
    if ping_sockets_allowed():
        yield True
        return
    if os.geteuid() != 0:
        yield False
        return
    before = setting.read_text()
    setting.write_text(EVERY_GROUP)
    try:
        yield ping_sockets_allowed()
    finally:
        setting.write_text(before)
