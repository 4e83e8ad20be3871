"""The daemons a benchmark starts for itself: Mosquitto and InfluxDB 1.x on loopback.

Each runs from a temporary directory on a free port and is stopped on leaving
its `with` block. Their logs stay in that directory.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 30.0
# InfluxDB's [data] and [coordinator] settings as the Ansible role deploys them
# (ansible/roles/influxdb/templates/influxdb.conf.j2; a test keeps the two alike):
# a benchmark measures the server a collector writes to.
PRODUCTION_DATA_SETTINGS = (
    'index-version = "tsi1"\ncache-snapshot-memory-size = "256m"\ncache-max-memory-size = "2g"'
)
PRODUCTION_COORDINATOR_SETTINGS = 'write-timeout = "30s"'
# Go's garbage collector as the role sets it (influxdb_go_gc_percent, and a memory limit
# of this share of the host's memory; a test keeps the two alike).
INFLUXDB_GC_PERCENT = 400
INFLUXDB_MEMORY_LIMIT_SHARE = 0.5
# Mosquitto's window of QoS 1 messages sent to a client ahead of its acknowledgements, as
# the Ansible role deploys it (ansible/roles/mosquitto/defaults/main.yml; a test keeps the
# two alike).
MOSQUITTO_MAX_INFLIGHT = 1000
STOP_TIMEOUT_S = 20.0


class ServiceError(RuntimeError):
    """A daemon is missing, did not start or did not answer."""


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The most resident memory process `pid` has held (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:g}s")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise ServiceError(f"{name} is not installed (Debian: apt-get install {name})")
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def mosquitto(workdir: Path, *, listeners: int = 1) -> Iterator[list[int]]:
    """A broker without persistence, queues unbounded; yields its listener ports.

    Several listeners serve the same broker: a benchmark counts one client's bytes
    by the port it connects to.
    """
    ports = [free_port() for _ in range(listeners)]
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "".join(f"listener {port} 127.0.0.1\n" for port in ports) + "allow_anonymous true\n"
        "persistence false\n"
        # Queued messages of an offline persistent session are kept, however many. A bound
        # far above any run's backlog rather than 0 ("no limit"): with 0, one 13,400-probe
        # run with Mosquitto 2.0.11 stopped delivering a session's queue part of the way
        # (not reproduced in isolation since).
        "max_queued_messages 100000000\n"
        "max_queued_bytes 0\n"
        f"max_inflight_messages {MOSQUITTO_MAX_INFLIGHT}\n"
        "log_dest stderr\n"
        "log_type error\n"
    )
    with (workdir / "mosquitto.log").open("ab") as log:
        process = subprocess.Popen([_binary("mosquitto"), "-c", str(conf)], stderr=log)  # noqa: S603 - a daemon found on PATH, our config
    try:
        for port in ports:
            wait_port(port)
        yield ports
    finally:
        _stop(process)


class Influx:
    """An InfluxDB 1.x server's HTTP API, for counting what was stored."""

    def __init__(self, port: int, pid: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.pid = pid

    def cpu_s(self) -> float:
        """CPU seconds influxd has used so far."""
        return cpu_s(self.pid)

    def query(self, database: str, text: str) -> list[dict[str, object]]:
        """The series of the first statement's result."""
        params = urllib.parse.urlencode({"db": database, "q": text, "epoch": "u"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=120) as reply:  # noqa: S310 - our loopback server
            body = json.load(reply)
        result = body["results"][0]
        if "error" in result:
            raise ServiceError(f"InfluxDB: {result['error']}")
        series: list[dict[str, object]] = result.get("series", [])
        return series

    def count(self, database: str, measurement: str, field: str, where: str = "") -> int:
        """Points of `measurement`, counted on a `field` every one of them has."""
        clause = f" WHERE {where}" if where else ""
        query = f'SELECT count("{field}") FROM "{measurement}"{clause}'  # noqa: S608 - InfluxQL, ours
        series = self.query(database, query)
        if not series:
            return 0
        values = series[0]["values"]
        assert isinstance(values, list)
        return int(values[0][1])


def influxdb_go_environment() -> dict[str, str]:
    """GOGC and GOMEMLIMIT as the Ansible role gives InfluxDB on this host."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {
        "GOGC": str(INFLUXDB_GC_PERCENT),
        "GOMEMLIMIT": f"{int(memory_mb * INFLUXDB_MEMORY_LIMIT_SHARE)}MiB",
    }


@contextlib.contextmanager
def influxdb(workdir: Path, *, cold_snapshot_s: int | None = None) -> Iterator[Influx]:
    """InfluxDB 1.x (Debian's `influxd`) with its data in `workdir`; `cold_snapshot_s`:
    write the cache to disk after this long without writes (default: InfluxDB's 10 min)."""
    cold = (
        f'  cache-snapshot-write-cold-duration = "{cold_snapshot_s}s"\n' if cold_snapshot_s else ""
    )
    port = free_port()
    conf = workdir / "influxdb.conf"
    conf.write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{free_port()}"\n'
        f'[meta]\n  dir = "{workdir}/meta"\n'
        f'[data]\n  dir = "{workdir}/data"\n  wal-dir = "{workdir}/wal"\n'
        "  query-log-enabled = false\n"
        f"{PRODUCTION_DATA_SETTINGS}\n{cold}"
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        f"[coordinator]\n{PRODUCTION_COORDINATOR_SETTINGS}\n"
        "[monitor]\n  store-enabled = false\n"
        "[continuous_queries]\n  enabled = false\n"
    )
    with (workdir / "influxd.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - a daemon found on PATH, our config
            [_binary("influxd"), "-config", str(conf)],
            stdout=log,
            stderr=log,
            env={**os.environ, **influxdb_go_environment()},
        )
    try:
        server = Influx(port, process.pid)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/ping", timeout=1):  # noqa: S310 - loopback
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise ServiceError("influxd did not answer /ping") from None
                time.sleep(0.1)
        yield server
    finally:
        _stop(process)
