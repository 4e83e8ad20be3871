"""Daemons a durability run starts, stops, kills and starts again on the same port and data.

Mosquitto runs the shipped configuration (collector/broker/mosquitto.conf); InfluxDB 1.x
and the collector (`balise collector run`) keep their data in the run's directory.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import collector

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
SHIPPED_BROKER_CONFIG = Path(collector.__file__).resolve().parent / "broker"


class DaemonError(RuntimeError):
    """A daemon is missing or did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise DaemonError(f"{what} did not start within {START_TIMEOUT_S:g}s")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def answers(url: str) -> bool:
    """Any HTTP answer, 503 included."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback, our own URL
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise DaemonError(f"{name} is not installed (Debian: apt-get install {name})")
    return found


@dataclass
class Daemon:
    name: str
    argv: list[str]
    log: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv
                self.argv, stdout=log, stderr=log
            )
        _wait(self._ready_or_died, self.name)

    def _ready_or_died(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise DaemonError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
        return self.ready()

    def stop(self) -> None:
        """A clean stop: SIGTERM, then wait."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """A crash: SIGKILL."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        if self.process is None:
            return
        self.process.send_signal(how)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def mosquitto(workdir: Path, port: int) -> Daemon:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        f"persistence_location {workdir}/\n"
        # Started as root, Mosquitto would drop to its own user, who cannot write here.
        + ("user root\n" if os.geteuid() == 0 else "")
        + f"include_dir {SHIPPED_BROKER_CONFIG}\n",
        encoding="utf-8",
    )
    argv = [binary("mosquitto"), "-c", str(conf)]
    return Daemon("mosquitto", argv, workdir / "mosquitto.log", lambda: listening(port))


def influxdb(workdir: Path, port: int) -> Daemon:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "influxdb.conf"
    conf.write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{free_port()}"\n'
        f'[meta]\n  dir = "{workdir}/meta"\n'
        f'[data]\n  dir = "{workdir}/data"\n  wal-dir = "{workdir}/wal"\n'
        "  query-log-enabled = false\n"
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        "[monitor]\n  store-enabled = false\n",
        encoding="utf-8",
    )
    argv = [binary("influxd"), "-config", str(conf)]
    url = f"http://127.0.0.1:{port}/ping"
    return Daemon("influxd", argv, workdir / "influxd.log", lambda: answers(url))


def collector_process(config: Path, http_port: int, log: Path) -> Daemon:
    argv = [sys.executable, "-m", "balise.cli", "collector", "run", "--config", str(config)]
    url = f"http://127.0.0.1:{http_port}/health"
    return Daemon("collector", argv, log, lambda: answers(url))
