"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe.sdnotify import SystemdNotifier, notify, watchdog_interval


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    sock.settimeout(0)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        return messages


def test_notify_sends_the_state_to_the_socket(systemd_socket):
    sock, path = systemd_socket
    assert notify("READY=1", environ={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1"


def test_notify_reaches_an_abstract_socket():
    name = f"balise-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_is_a_no_op_outside_systemd():
    assert not notify("READY=1", environ={})


def test_notify_reports_a_missing_socket_without_raising(tmp_path):
    assert not notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "90000000"}, 45.0),
        ({"WATCHDOG_USEC": "90000000", "WATCHDOG_PID": str(os.getpid())}, 45.0),
        ({"WATCHDOG_USEC": "90000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_the_period_for_this_process(environ, expected):
    assert watchdog_interval(environ) == expected


async def test_notifier_says_ready_pings_then_says_stopping(systemd_socket):
    sock, path = systemd_socket
    environ = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"}  # a ping every 50 ms
    async with SystemdNotifier(environ=environ) as notifier:
        assert notifier._task is not None
        assert notifier._task.get_name() == "sd-watchdog"
        await asyncio.sleep(0.3)
    messages = received(sock)
    assert messages[0] == "READY=1"
    assert messages[-1] == "STOPPING=1"
    assert messages.count("WATCHDOG=1") >= 3
    assert notifier._task.done()


async def test_notifier_without_watchdog_only_says_ready_and_stopping(systemd_socket):
    sock, path = systemd_socket
    async with SystemdNotifier(environ={"NOTIFY_SOCKET": path}) as notifier:
        assert notifier._task is None
    assert received(sock) == ["READY=1", "STOPPING=1"]
