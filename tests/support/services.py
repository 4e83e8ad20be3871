"""Real Mosquitto and InfluxDB processes on loopback, for integration tests."""

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SHIPPED_BROKER_CONFIG = Path(__file__).resolve().parents[2] / "collector" / "broker"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise RuntimeError(f"{name} is not installed: run scripts/ensure-services.sh")
    return found


@dataclass
class Mosquitto:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    extra_config: str = ""

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence_location {self.workdir}/\n"
            "log_dest stderr\n"
            "log_type error\n" + f"include_dir {SHIPPED_BROKER_CONFIG}\n" + self.extra_config
            # The broker configuration Balise ships (persistence, unbounded queues, sessions).
        )
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([binary("mosquitto"), "-c", str(conf)], stderr=log)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@dataclass
class InfluxDB:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        rpc = free_port()
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{rpc}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n'
            "  query-log-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
        )
        log = (self.workdir / "influxd.log").open("ab")
        self.process = subprocess.Popen(
            [binary("influxd"), "-config", str(conf)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1):  # noqa: S310 - loopback
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise TimeoutError("influxd did not answer /ping")

    def query(self, db: str, q: str) -> list[dict[str, object]]:
        """Run InfluxQL and return the series of the first statement."""
        url = f"{self.url}/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "s"})
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback
            body = json.load(r)
        result = body["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        series: list[dict[str, object]] = result.get("series", [])
        return series

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None
