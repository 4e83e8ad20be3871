"""`balise bench probe`: what one probe costs a Pi: memory, CPU, start-up and traffic.

The probe runs as `balise probe run`, a process of its own, against a loopback world
the bench starts: a web world as the field shows it (`balise.bench.world`: 100 kB home
pages over HTTPS, plain HTTP answered by a 301 to HTTPS, a certificate chain with an
intermediate; the throughput objects on a server of their own) playing the eleven
targets and four anchors of the default catalog, the lab's DNS server
(`balise.lab.netns.authdns`), a DoH server (`balise.bench.doh`) playing the catalog's
independent resolver, Mosquitto, and `balise collector run` acknowledging rounds. The
probe's settings are the defaults but for the schedule, the addresses and traceroute
(off: it needs scapy and a failing target); ping sockets are open for its anchors, as on
a Pi (`balise.bench.ping_sockets`).

The default schedule is compressed 30 times: rounds every 10 s instead of 300 s
(`round_s`, another schedule with `--round-s`), heartbeats every 1 s instead of 30 s,
MQTT keep-alives every 2 s instead of 60 s, `doh_idle_s` likewise (the DoH connection
is not kept from one round to the next, as in the field). Traffic per round is
therefore traffic per real round, and a day is 86,400 / round_s rounds. Throughput is
due every `throughput_every` rounds (12 in the default catalog), one object at a time in
turns, more than a short run holds: its bytes are counted apart, per download since the
probe started, and spread over a period.
The objects are as large as `throughput_max_bytes`, the most the probe reads.

Traffic is counted by the kernel: nftables counters on the output hook match the
ports of the world's servers and the anchors' pings, so every byte of every packet
the probe sends or receives (IP and TCP/UDP headers included, TCP handshakes and
acknowledgements too) is counted, and nothing else is. That needs root; without it
the traffic is reported as unmeasured. The collector talks to Mosquitto on a
listener of its own, so its traffic is not counted. Loopback's 64 kB segments need
fewer packets, so fewer headers and acknowledgements, than a 1500-byte link: a
download of a few hundred kB is acknowledged by a few packets here, by a hundred
there (docs/performance.md estimates what that adds).
"""

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from balise import wire
from balise.bench.ping_sockets import ping_sockets_open
from balise.bench.services import ServiceError, cpu_s, free_port, mosquitto, wait_port
from balise.model.catalog import BUILTIN_CATALOG, Anchor, Catalog, Target
from probe.measure_settings import MeasureSettings
from probe.settings import ProbeIdentity, ProbeMqttSettings, ProbeSettings

COMPRESSION = 30  # real seconds per bench second
DAY_S = 86_400
DEFAULT_ROUND_S = ProbeSettings(id="x", location=ProbeIdentity(country="NC")).round_s
KEEPALIVE_S = ProbeMqttSettings().keepalive_s
# Each throughput object (the default catalog has two, downloaded in turns) is as large
# as the probe reads.
THROUGHPUT_BYTES = MeasureSettings().throughput_max_bytes
TARGET_MB_PER_DAY = 30.0  # sent and received: a metered SIM bills both (issue 7)
POLL_S = 0.02
PROBE_ID = "bench-probe"
DOH_HOST = "dns.bench.test"  # the independent resolver, DoH as in the default catalog
SOURCE = Path(__file__).resolve().parents[2]  # the tree holding balise/, probe/, collector/
# The environment firmware/systemd/balise-probe.service gives the probe (a test keeps the
# two alike): the bench measures the probe as it runs on a Pi.
UNIT_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}
START_TIMEOUT_S = 60.0


def _counted_ports(web: "_World", mqtt: int) -> dict[str, str]:
    """nftables rules (without `counter`), by name: what the probe sends and receives."""
    return {
        "uplink_sent": f"tcp dport {mqtt}",
        "uplink_received": f"tcp sport {mqtt}",
        "https_sent": f"tcp dport {web.https_port}",
        "https_received": f"tcp sport {web.https_port}",
        "http_sent": f"tcp dport {web.http_port}",
        "http_received": f"tcp sport {web.http_port}",
        "throughput_sent": f"tcp dport {web.cdn_port}",
        "throughput_received": f"tcp sport {web.cdn_port}",
        "anchors_sent": "ip daddr 127.0.0.1 icmp type echo-request",
        "anchors_received": "ip saddr 127.0.0.1 icmp type echo-reply",
        "dns_sent": f"udp dport {web.dns_port}",
        "dns_received": f"udp sport {web.dns_port}",
        "doh_sent": f"tcp dport {web.doh_port}",
        "doh_received": f"tcp sport {web.doh_port}",
    }


class Counters:
    """Byte counters in an nftables table of our own; none without root."""

    def __init__(self, rules: dict[str, str]) -> None:
        self.table = f"balise_bench_{os.getpid()}"
        self._nft = shutil.which("nft") if os.geteuid() == 0 else None
        self.available = self._nft is not None
        if self._nft is None:
            return
        lines = [
            f"table inet {self.table} {{",
            "  chain out {",
            "    type filter hook output priority 0;",
        ]
        lines += [f'    {rule} counter comment "{name}"' for name, rule in rules.items()]
        lines += ["  }", "}"]
        result = subprocess.run(  # noqa: S603 - nft from PATH, our own ruleset
            [self._nft, "-f", "-"],
            input="\n".join(lines),
            text=True,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            self.available = False

    def read(self) -> dict[str, int]:
        if self._nft is None or not self.available:
            return {}
        listed = subprocess.run(  # noqa: S603 - nft from PATH
            [self._nft, "-j", "list", "table", "inet", self.table],
            capture_output=True,
            text=True,
            check=True,
        )
        found: dict[str, int] = {}
        for item in json.loads(listed.stdout)["nftables"]:
            rule = item.get("rule")
            if rule is None:
                continue
            for expression in rule["expr"]:
                if "counter" in expression:
                    found[rule["comment"]] = int(expression["counter"]["bytes"])
        return found

    def remove(self) -> None:
        if self._nft is not None and self.available:
            subprocess.run([self._nft, "delete", "table", "inet", self.table], check=False)  # noqa: S603 - nft from PATH


def _catalog(https: int, http: int, cdn: int, doh: int) -> Catalog:
    """The default catalog's targets and anchors, every name and address on loopback."""
    builtin = msgspec.toml.decode(BUILTIN_CATALOG.read_bytes(), type=Catalog)
    targets = tuple(
        Target(
            id=t.id,
            name=t.name,
            domain=f"www.{t.id}.test",
            port=https,
            path=t.path,
            http_domain=f"www.{t.id}.test",
            http_port=http,
            throughput_url=f"https://cdn.{t.id}.test:{cdn}/blob/{THROUGHPUT_BYTES}"
            if t.throughput_url
            else None,
            kind=t.kind,
        )
        for t in builtin.targets
    )
    anchors = tuple(
        Anchor(id=a.id, role=a.role, address="127.0.0.1", port=https) for a in builtin.anchors
    )
    return Catalog(
        revision="bench",
        targets=targets,
        anchors=anchors,
        doh_url=f"https://{DOH_HOST}:{doh}/dns-query",
        throughput_every=builtin.throughput_every,
        throughput_objects=builtin.throughput_objects,
    )


def _names(catalog: Catalog) -> list[str]:
    return [t.domain for t in catalog.targets] + [f"cdn.{t.id}.test" for t in catalog.targets]


def _records(names: list[str]) -> str:
    return "".join(f'"{name}" = "127.0.0.1"\n' for name in names)


@contextmanager
def _process(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=out, env=env)  # noqa: S603 - our interpreter
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class _World:
    catalog: Catalog
    ca_file: Path
    https_port: int
    http_port: int
    cdn_port: int  # the throughput objects' server, counted apart
    dns_port: int
    doh_port: int


def _world(stack: ExitStack, workdir: Path) -> _World:
    """Start the web world (`balise.bench.world`), the lab's DNS server and the DoH server."""
    from balise.bench.world import make_pki  # noqa: PLC0415 - needs the lab extra (trustme)

    https, http, cdn, dns_port, doh = (free_port() for _ in range(5))
    catalog = _catalog(https, http, cdn, doh)
    pki = make_pki(workdir / "pki", [*_names(catalog), DOH_HOST])
    python = sys.executable
    # The platforms, and apart (so that its bytes are counted apart) the throughput objects'
    # CDN, whose plain-HTTP port nothing asks for.
    for http_port, https_port in ((http, https), (free_port(), cdn)):
        web = workdir / f"web-{https_port}.toml"
        web.write_text(
            f'address = "127.0.0.1"\nhttp_port = {http_port}\nhttps_port = {https_port}\n'
            f'pem = "{pki.pem}"\n'
        )
        stack.enter_context(
            _process([python, "-m", "balise.bench.world", str(web)], workdir / f"{web.stem}.log")
        )
    dns = workdir / "dns.toml"
    records = _records([*_names(catalog), DOH_HOST])
    dns.write_text(f'address = "127.0.0.1"\nport = {dns_port}\n[records]\n{records}')
    doh_settings = workdir / "doh.toml"
    doh_settings.write_text(
        f'address = "127.0.0.1"\nport = {doh}\npem = "{pki.pem}"\n'
        f"[records]\n{_records(_names(catalog))}"
    )
    stack.enter_context(
        _process([python, "-m", "balise.lab.netns.authdns", str(dns)], workdir / "dns.log")
    )
    stack.enter_context(
        _process([python, "-m", "balise.bench.doh", str(doh_settings)], workdir / "doh.log")
    )
    for port in (https, cdn, doh):
        wait_port(port)
    return _World(catalog, pki.ca_file, https, http, cdn, dns_port, doh)


def _probe_settings(
    round_s: float, workdir: Path, catalog_file: Path, ca_file: Path, dns_port: int, mqtt_port: int
) -> Path:
    path = workdir / "probe.toml"
    path.write_text(
        f'id = "{PROBE_ID}"\nstate_dir = "{workdir / "probe-state"}"\n'
        f"round_s = {round_s / COMPRESSION}\njitter = 0.0\nheartbeat_s = {30 / COMPRESSION}\n"
        f'catalog = "{catalog_file}"\n'
        '[location]\ncountry = "NC"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n'
        f"keepalive_s = {KEEPALIVE_S // COMPRESSION}\n"
        f'[measure]\nsystem_resolver = "udp:127.0.0.1:{dns_port}"\nca_file = "{ca_file}"\n'
        'bogon_exempt = ["127.0.0.0/8"]\ntraceroute = false\n'
        f"doh_idle_s = {MeasureSettings().doh_idle_s / COMPRESSION}\n"
    )
    return path


def _collector_settings(workdir: Path, mqtt_port: int, catalog_file: Path) -> tuple[Path, int]:
    http_port = free_port()
    path = workdir / "collector.toml"
    path.write_text(
        f'state_dir = "{workdir / "collector-state"}"\ncatalog = "{catalog_file}"\n'
        f'[mqtt]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n'
        f'[http]\nlisten = "127.0.0.1:{http_port}"\n'
    )
    return path, http_port


def _received(http_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as reply:
            text = reply.read()
    except urllib.error.HTTPError as exc:  # 503 while degraded: the same body
        text = exc.read()
    except (urllib.error.URLError, OSError):
        return 0
    try:
        body = json.loads(text)
    except ValueError:
        return 0
    stored = body.get("stored_rounds", 0)
    return stored if isinstance(stored, int) else 0


@dataclass(frozen=True, slots=True)
class _Stored:
    """The rounds as the collector stored them."""

    first_started: float  # the first round's start, on the probe's clock
    first_received: float  # its arrival
    json_bytes: int  # a round's JSON, mean
    wire_bytes: int  # its compressed wire form, mean
    downloads: int  # throughput downloads in all the rounds stored


def _stored(workdir: Path) -> _Stored:
    path = workdir / "collector-state" / "collector.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        started, received = db.execute(
            "SELECT started, received FROM rounds ORDER BY seq LIMIT 1"
        ).fetchone()
        texts = [wire.decompress(bytes(raw)) for (raw,) in db.execute("SELECT raw FROM rounds")]
    rounds = [wire.decode_round(text, PROBE_ID) for text in texts]
    return _Stored(
        first_started=float(started),
        first_received=float(received),
        json_bytes=round(sum(map(len, texts)) / len(texts)),
        wire_bytes=round(sum(len(wire.compress(text)) for text in texts) / len(texts)),
        downloads=sum(t.throughput is not None for r in rounds for t in r.targets),
    )


def _proc(pid: int) -> tuple[float, float, float]:
    """CPU seconds, peak and current resident memory (MB) of a process."""
    cpu = cpu_s(pid)
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return cpu, int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024


def _import_times(python: str) -> dict[str, float]:
    """Interpreter start, imports of `balise probe run`, and the lazily loaded libraries."""
    script = (
        "import time; t = time.perf_counter(); import balise.cli, probe.main; "
        "a = time.perf_counter(); from probe.backend import load_libraries; load_libraries(); "
        "print(a - t, time.perf_counter() - a)"
    )
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    subprocess.run([python, "-c", script], capture_output=True, check=True, env=env)  # noqa: S603 - warm the caches
    started = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True)  # noqa: S603 - our interpreter
    bare = time.perf_counter() - started
    out = subprocess.run(  # noqa: S603 - our interpreter
        [python, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return {
        "python_start_s": round(bare, 3),
        "import_s": round(float(out[0]), 3),
        "lazy_libraries_s": round(float(out[1]), 3),
    }


def bench_probe(
    rounds: int = 10,
    json_out: Path | None = None,
    python: str | None = None,
    round_s: float | None = None,
) -> int:
    """Measure `rounds` rounds after the first; print the figures.

    `python` runs the probe with another interpreter, e.g. a virtualenv holding only the
    probe's dependencies, as a Pi has (the dev environment's extra packages change what
    dnspython imports); it runs this source tree's code.
    """
    rounds = max(rounds, 2)
    round_s = round_s or DEFAULT_ROUND_S
    with tempfile.TemporaryDirectory(prefix="balise-bench-probe-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        world = _world(stack, workdir)
        catalog = world.catalog
        catalog_file = workdir / "catalog.toml"
        catalog_file.write_bytes(msgspec.toml.encode(msgspec.to_builtins(catalog)))
        probe_port, collector_port = stack.enter_context(mosquitto(workdir, listeners=2))
        counters = Counters(_counted_ports(world, probe_port))
        stack.callback(counters.remove)
        pings = stack.enter_context(ping_sockets_open())
        config, http_port = _collector_settings(workdir, collector_port, catalog_file)
        stack.enter_context(
            _process(
                [sys.executable, "-m", "balise.cli", "collector", "run", "--config", str(config)],
                workdir / "collector.log",
            )
        )
        wait_port(http_port)
        settings = _probe_settings(
            round_s, workdir, catalog_file, world.ca_file, world.dns_port, probe_port
        )
        spawned = time.time()
        probe = stack.enter_context(
            _process(
                [
                    python or sys.executable,
                    "-m",
                    "balise.cli",
                    "probe",
                    "run",
                    "--config",
                    str(settings),
                ],
                workdir / "probe.log",
                env={
                    **os.environ,
                    **UNIT_ENVIRONMENT,
                    **({"PYTHONPATH": str(SOURCE)} if python else {}),
                },
            )
        )
        samples = _sample(probe, http_port, rounds + 1, round_s / COMPRESSION, counters)
        stored = _stored(workdir)
    (first_count, _, (first_cpu, _, _), first_bytes) = samples[0]
    (last_count, _, (last_cpu, peak_mb, rss_mb), last_bytes) = samples[-1]
    rounds = last_count - first_count
    traffic = _traffic_per_round(first_bytes, last_bytes, rounds, stored.downloads, catalog)
    result: dict[str, object] = {
        "rounds": rounds,
        "targets": len(catalog.targets),
        "peak_rss_mb": round(peak_mb, 1),
        "rss_mb": round(rss_mb, 1),
        "cpu_s_per_round": round((last_cpu - first_cpu) / rounds, 3),
        "startup_to_first_round_start_s": round(stored.first_started - spawned, 2),
        "startup_to_first_round_received_s": round(stored.first_received - spawned, 2),
        "round_json_bytes": stored.json_bytes,
        "round_payload_bytes": stored.wire_bytes,  # on the wire: compressed
        **_import_times(python or sys.executable),
        "traffic_measured": counters.available,
        "anchors_ping": pings,  # else they fall back to TCP, counted with https
        **_traffic_figures(traffic, round_s, measured=counters.available),
        "throughput_downloads": stored.downloads,
        "throughput_object_bytes": THROUGHPUT_BYTES,
        "python": python or sys.executable,
        "round_s": round_s,
        "command": f"balise bench probe --rounds {rounds} --round-s {round_s:g}"
        + (f" --python {python}" if python else ""),
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    traffic_text = (
        f"{result['total_mb_per_day']} MB/day of traffic ({result['sent_mb_per_day']} sent, "
        f"{result['received_mb_per_day']} received; target {TARGET_MB_PER_DAY})"
        if counters.available
        else "traffic unmeasured (needs root)"
    )
    if not pings:
        print(
            "warning: ping sockets are closed (net.ipv4.ping_group_range) and the bench is "
            "not root: the anchors used TCP, not ICMP as on a Pi",
            file=sys.stderr,
        )
    print(
        f"probe peak RSS {peak_mb:.1f} MB, {result['cpu_s_per_round']} CPU s/round, "
        f"start-up {stored.first_started - spawned:.2f} s to the first round, {traffic_text}"
    )
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _traffic_per_round(
    first: dict[str, int], last: dict[str, int], rounds: int, downloads: int, catalog: Catalog
) -> dict[str, float]:
    """Bytes per round by counter, between two samples.

    Throughput is due every `throughput_every` rounds, so a few rounds may hold no
    download, or one too many: its counters are read from the probe's start instead,
    and a download's bytes are spread over the rounds of one period (one download a
    period: the objects take turns).
    """
    traffic = {
        name: (count - first.get(name, 0)) / rounds
        for name, count in last.items()
        if not name.startswith("throughput_")
    }
    sized = any(t.throughput_url is not None for t in catalog.targets)
    per_round = sized / max(catalog.throughput_every, 1)
    for name in ("throughput_sent", "throughput_received"):
        if name in last:
            traffic[name] = last[name] / max(downloads, 1) * per_round
    return traffic


def _traffic_figures(
    traffic: dict[str, float], round_s: float, *, measured: bool
) -> dict[str, object]:
    """Bytes per round by part and direction; sent, received and total per round and day."""
    if not measured:
        return {"sent_bytes_per_round": None, "total_mb_per_day": None}
    day = DAY_S / round_s
    sent = sum(v for k, v in traffic.items() if k.endswith("_sent"))
    received = sum(v for k, v in traffic.items() if k.endswith("_received"))
    uplink = traffic.get("uplink_sent", 0) + traffic.get("uplink_received", 0)
    return {
        **{f"{k}_bytes_per_round": round(v) for k, v in traffic.items()},
        "sent_bytes_per_round": round(sent),
        "received_bytes_per_round": round(received),
        "total_bytes_per_round": round(sent + received),
        "sent_mb_per_day": round(sent * day / 1e6, 1),
        "received_mb_per_day": round(received * day / 1e6, 1),
        "total_mb_per_day": round((sent + received) * day / 1e6, 1),
        "uplink_mb_per_day": round(uplink * day / 1e6, 1),
        "target_mb_per_day": TARGET_MB_PER_DAY,
    }


Sample = tuple[int, float, tuple[float, float, float], dict[str, int]]


def _sample(
    probe: subprocess.Popen[bytes], http_port: int, rounds: int, every_s: float, counters: Counters
) -> list[Sample]:
    """(rounds stored, time, the probe's CPU and memory, byte counters) as rounds are stored,
    until `rounds` are."""
    samples: list[Sample] = []
    deadline = time.monotonic() + START_TIMEOUT_S + rounds * every_s * 3
    seen = 0
    while seen < rounds:
        if probe.poll() is not None:
            raise ServiceError("the probe exited; see probe.log in the bench's directory")
        if time.monotonic() > deadline:
            raise ServiceError(f"only {seen} of {rounds} rounds stored in time")
        stored = _received(http_port)
        if stored > seen:
            seen = stored
            samples.append((stored, time.time(), _proc(probe.pid), counters.read()))
        time.sleep(POLL_S)
    return samples
