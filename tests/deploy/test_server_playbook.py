"""ansible/site.yml for real on this machine: Mosquitto, InfluxDB and the collector from
Debian's packages and this repository, then a probe started by hand whose rounds land in
InfluxDB through the installed stack. Root only; select with `-m deploy`.

Grafana is skipped (`--skip-tags grafana`): it installs from Grafana's own apt
repository, which this machine cannot reach. Where systemd is not PID 1 the playbook
starts the services with start-stop-daemon (docs/deployment.md); either way every
check below talks to the running service.
"""

import asyncio
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest
import trustme

from tests.deploy.playbooks import Run, run_playbook
from tests.support.local_dns import LocalDns
from tests.support.services import InfluxDB, free_port

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs Debian packages and services: root"),
    pytest.mark.skipif(not shutil.which("apt-get"), reason="the playbook targets Debian"),
    pytest.mark.timeout(900),
]

PROBE = "deploy-e2e"
OTHER = "deploy-other"
REVOKED = "deploy-gone"
COLLECTOR_USER = "balise-collector"
SERVICES = ("balise-probe", "balise-collector", "influxdb", "mosquitto")
# probes.yml installs a probe on this same host: its state stays apart from the collector's.
PROBE_STATE = "/var/lib/balise-deploy-test-probe"
FALLBACK_PIDS = Path("/run/balise-daemons")


@dataclass(frozen=True)
class Deployment:
    workdir: Path
    inventory: Path
    first: Run
    wheel: Path
    mqtt_port: int
    mqtts_port: int
    influx_port: int
    http_port: int
    dns_port: int
    ca: Path
    credentials: Path

    def password(self, user: str) -> str:
        name = "collector" if user == COLLECTOR_USER else f"probe-{user}"
        return (self.credentials / name).read_text().strip()


def write_inventory(workdir: Path) -> Deployment:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(workdir / "ca.pem")
    cert.cert_chain_pems[0].write_to_path(workdir / "broker.pem")
    cert.private_key_pem.write_to_path(workdir / "broker.key")
    ports = {name: free_port() for name in ("mqtt", "mqtts", "influx", "rpc", "http", "dns")}
    catalog = workdir / "catalog.toml"
    # Everything the probe measures is on this machine: nothing leaves it.
    catalog.write_text(
        'version = 1\nrevision = "deploy-test"\n'
        f'resolver = "udp:127.0.0.1:{ports["dns"]}"\n'
        "[[targets]]\n"
        'id = "local-web"\nname = "Local web"\ndomain = "web.balise.test"\n'
        f"port = {free_port()}\n"
    )
    server_vars = {
        "balise_probes": [
            {"id": PROBE, "location": {"country": "NC", "region": "Test"}},
            {
                "id": OTHER,
                "location": {"country": "NC"},
                "round_s": 3,
                # Nothing leaves the machine: DNS goes to a loopback port nobody answers.
                "measure": {
                    "system_resolver": f"udp:127.0.0.1:{ports['dns']}",
                    "icmp": False,
                    "traceroute": False,
                    "dns_timeout_s": 1,
                    "round_deadline_s": 5,
                },
            },
            {"id": REVOKED, "location": {"country": "NC"}, "revoked": True},
        ],
        "balise_credentials_dir": str(workdir / "credentials"),
        "balise_build_dir": str(workdir / "wheel"),
        "mosquitto_port": ports["mqtt"],
        "mosquitto_tls_port": ports["mqtts"],
        "mosquitto_tls_bind_address": "127.0.0.1",
        "mosquitto_tls_cert": str(workdir / "broker.pem"),
        "mosquitto_tls_key": str(workdir / "broker.key"),
        "influxdb_port": ports["influx"],
        "influxdb_rpc_bind": f"127.0.0.1:{ports['rpc']}",
        "collector_http_listen": f"127.0.0.1:{ports['http']}",
        "collector_catalog_src": str(catalog),
        # probes.yml
        "balise_broker_url": f"mqtts://127.0.0.1:{ports['mqtts']}",
        "balise_broker_ca": str(workdir / "ca.pem"),
        "probe_catalog_src": str(catalog),
    }
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory = workdir / "hosts.yml"
    groups = {
        "server": {"hosts": {"localhost": host}},
        "probes": {"hosts": {"localhost": {**host, "balise_probe_id": OTHER}}},
    }
    inventory.write_text(json.dumps({"all": {"children": groups, "vars": server_vars}}))
    first = run_playbook("site.yml", inventory, workdir / "first-run.log", "--skip-tags", "grafana")
    wheels = sorted((workdir / "wheel").glob("balise-*.whl"))
    return Deployment(
        workdir=workdir,
        inventory=inventory,
        first=first,
        wheel=wheels[-1] if wheels else workdir / "no-wheel",
        mqtt_port=ports["mqtt"],
        mqtts_port=ports["mqtts"],
        influx_port=ports["influx"],
        http_port=ports["http"],
        dns_port=ports["dns"],
        ca=workdir / "ca.pem",
        credentials=workdir / "credentials",
    )


def stop_services() -> None:
    """Stop what the playbook started, so no daemon outlives the test session."""
    for name in SERVICES:
        pidfile = FALLBACK_PIDS / f"{name}.pid"
        if pidfile.exists():
            stop = ["start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/30/KILL/5"]
            subprocess.run([*stop, "--remove-pidfile", "--pidfile", str(pidfile)], check=False)
        elif Path("/run/systemd/system").is_dir():
            subprocess.run(["systemctl", "stop", f"{name}.service"], check=False)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("deploy")
    workdir.chmod(0o755)  # the services read the catalog and certificates as they install
    try:
        deployment = write_inventory(workdir)
        yield deployment
    finally:
        stop_services()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.read()


def tls_context(deployed: Deployment) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(deployed.ca))


def probe_client(deployed: Deployment, user: str, password: str | None = None) -> aiomqtt.Client:
    return aiomqtt.Client(
        "127.0.0.1",
        deployed.mqtts_port,
        username=user,
        password=deployed.password(user) if password is None else password,
        identifier=f"acl-test-{user}",
        tls_context=tls_context(deployed),
        protocol=aiomqtt.ProtocolVersion.V5,
    )


def test_the_first_run_succeeds(deployed):
    recap = deployed.first.recap()
    assert deployed.first.returncode == 0, deployed.first.output[-4000:]
    assert (recap.failed, recap.unreachable) == (0, 0)
    assert recap.changed > 0


def test_mosquitto_takes_each_probe_by_its_password_only(deployed):
    async def connects(user: str, password: str | None = None) -> bool:
        try:
            async with probe_client(deployed, user, password):
                return True
        except aiomqtt.MqttError:
            return False

    async def check() -> None:
        assert await connects(PROBE)
        assert await connects(OTHER)
        assert not await connects(PROBE, "not-the-password")
        assert not await connects(REVOKED, "any-password")

    asyncio.run(check())
    users = {
        line.split(":", 1)[0]
        for line in Path("/etc/mosquitto/balise.passwd").read_text().splitlines()
        if line
    }
    assert users == {COLLECTOR_USER, PROBE, OTHER}


def test_a_probe_publishes_and_reads_only_its_own_topics(deployed):
    """Mosquitto grants any subscription; its ACL decides what is delivered."""

    async def check() -> None:
        collector = aiomqtt.Client(
            "127.0.0.1",
            deployed.mqtt_port,
            username=COLLECTOR_USER,
            password=deployed.password(COLLECTOR_USER),
            identifier="acl-test-collector",  # not the real collector's session
            protocol=aiomqtt.ProtocolVersion.V5,
        )
        async with probe_client(deployed, PROBE) as probe, collector:
            await probe.subscribe("balise/v1/probe/+/ack", qos=1)
            await collector.subscribe("balise/v1/probe/+/heartbeat", qos=1)
            await asyncio.sleep(0.2)
            await probe.publish(f"balise/v1/probe/{OTHER}/heartbeat", b"forged", qos=1)
            await probe.publish(f"balise/v1/probe/{PROBE}/heartbeat", b"own", qos=1)
            await probe.publish(f"balise/v1/probe/{PROBE}/ack", b"self", qos=1)
            await collector.publish(f"balise/v1/probe/{OTHER}/ack", b"other", qos=1)
            await collector.publish(f"balise/v1/probe/{PROBE}/ack", b"mine", qos=1)
            probe_got, collector_got = await asyncio.gather(
                messages_within(probe, 3), messages_within(collector, 3)
            )
        # The collector may also acknowledge rounds an earlier run left queued at the broker.
        assert {topic for topic, _ in probe_got} == {f"balise/v1/probe/{PROBE}/ack"}
        assert b"mine" in {payload for _, payload in probe_got}
        assert not {b"other", b"self"} & {payload for _, payload in probe_got}
        assert collector_got == [(f"balise/v1/probe/{PROBE}/heartbeat", b"own")]

    asyncio.run(check())


async def messages_within(client: aiomqtt.Client, seconds: float) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                # A loop, not a comprehension: the timeout ends it, keeping what it gathered.
                got.append((str(message.topic), bytes(message.payload)))  # noqa: PERF401

    return got


def test_influxdb_answers_and_has_the_database(deployed):
    status, _ = get(f"http://127.0.0.1:{deployed.influx_port}/ping")
    assert status == 204
    influx = InfluxDB(port=deployed.influx_port, workdir=deployed.workdir)
    names = [row[0] for row in influx.query("_internal", "SHOW DATABASES")[0]["values"]]
    assert "balise" in names


def test_influxdb_runs_with_the_deployed_garbage_collector_settings(deployed):
    pidfile = FALLBACK_PIDS / "influxdb.pid"
    if pidfile.exists():
        pid = pidfile.read_text().strip()
    else:
        show = ["systemctl", "show", "--property=MainPID", "--value", "influxdb.service"]
        pid = subprocess.run(show, capture_output=True, text=True, check=True).stdout.strip()
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"GOGC=400" in environment
    limits = [v for v in environment if v.startswith(b"GOMEMLIMIT=")]
    assert len(limits) == 1
    assert limits[0].endswith(b"MiB")
    assert int(limits[0][len(b"GOMEMLIMIT=") : -len(b"MiB")]) > 0


def test_the_collector_answers_on_its_health_endpoint(deployed):
    status, _ = get(f"http://127.0.0.1:{deployed.http_port}/health")
    assert status == 200


def test_a_second_run_changes_nothing(deployed):
    # Pin the wheel the first run built: other work in this tree must not count as a change.
    wheel = f"balise_wheel={deployed.wheel}"
    run = run_playbook(
        "site.yml",
        deployed.inventory,
        deployed.workdir / "second-run.log",
        "--skip-tags",
        "grafana",
        "-e",
        wheel,
    )
    recap = run.recap()
    assert run.returncode == 0, run.output[-4000:]
    assert (recap.failed, recap.changed) == (0, 0), run.changed_tasks()


def test_the_installed_units_verify(deployed, systemd_analyze):
    units = [
        "/etc/systemd/system/balise-collector.service",
        "/etc/systemd/system/balise-backup.service",
        "/etc/systemd/system/balise-backup.timer",
    ]
    verify = subprocess.run(
        [systemd_analyze, "verify", *units], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr


def test_the_collector_unit_is_hardened(deployed, systemd_analyze):
    unit = "/etc/systemd/system/balise-collector.service"
    score = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--threshold=30", unit],
        capture_output=True,
        text=True,
        check=False,
    )
    assert score.returncode == 0, score.stdout[-2000:]


def test_the_backup_copies_a_live_sqlite_database(deployed):
    state = Path("/var/lib/balise")
    database = state / "deploy-test-backup.sqlite3"
    sql = "PRAGMA journal_mode=WAL; CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept');"
    as_balise = ["runuser", "-u", "balise", "--"]
    subprocess.run([*as_balise, "sqlite3", str(database), sql], check=True, capture_output=True)
    try:
        done = subprocess.run(
            [*as_balise, "/usr/local/sbin/balise-backup"],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        for leftover in state.glob("deploy-test-backup.sqlite3*"):
            leftover.unlink()
    archive = Path(done.stdout.strip().rsplit(" ", 1)[-1])
    restored = deployed.workdir / "restored"
    with tarfile.open(archive) as tar:
        tar.extractall(restored, filter="data")
    archive.unlink()
    copy = restored / database.name
    dump = subprocess.run(
        ["sqlite3", str(copy), "SELECT v FROM t"], capture_output=True, text=True, check=True
    )
    assert dump.stdout.strip() == "kept"


async def test_a_probe_started_by_hand_lands_its_rounds_in_influxdb(deployed):
    settings = deployed.workdir / "probe.toml"
    state = deployed.workdir / "probe-state"
    settings.write_text(
        f'id = "{PROBE}"\nstate_dir = "{state}"\nround_s = 2\njitter = 0\n'
        f'catalog = "{deployed.workdir / "catalog.toml"}"\n'
        '[location]\ncountry = "NC"\nregion = "Test"\n'
        f'[mqtt]\nurl = "mqtts://127.0.0.1:{deployed.mqtts_port}"\nusername = "{PROBE}"\n'
        f'password_file = "{deployed.credentials / f"probe-{PROBE}"}"\nca_file = "{deployed.ca}"\n'
        f'[measure]\nsystem_resolver = "udp:127.0.0.1:{deployed.dns_port}"\n'
        "icmp = false\ntraceroute = false\ndns_timeout_s = 1\nconnect_timeout_s = 1\n"
        "round_deadline_s = 5\n"
    )
    influx = InfluxDB(port=deployed.influx_port, workdir=deployed.workdir)
    # Only this run's rounds: InfluxDB keeps those of earlier test sessions.
    since_ms = int(time.time() * 1000)
    where = f"probe = '{PROBE}' AND time >= {since_ms}ms"
    query = f"SELECT count(seq) FROM round WHERE {where}"  # noqa: S608 - constants and a number

    async def rounds_stored() -> int:
        series = await asyncio.to_thread(influx.query, "balise", query)
        return int(series[0]["values"][0][1]) if series else 0

    log = (deployed.workdir / "probe.log").open("wb")
    async with LocalDns(records={"web.balise.test": ("127.0.0.1",)}, port=deployed.dns_port):
        probe = await asyncio.create_subprocess_exec(
            "/opt/balise/venv/bin/balise", "probe", "run", "--config", str(settings),
            stdout=log, stderr=log,
        )  # fmt: skip
        try:
            async with asyncio.timeout(90):
                while await rounds_stored() < 2:  # two rounds: a steady flow
                    assert probe.returncode is None, (deployed.workdir / "probe.log").read_text()
                    await asyncio.sleep(1)
        finally:
            probe.terminate()
            status = await probe.wait()
            log.close()
    assert status == 0, (deployed.workdir / "probe.log").read_text()[-3000:]


def test_nothing_listens_beyond_loopback(deployed):
    """The test inventory binds every service to 127.0.0.1; check the sockets agree."""
    for port in (deployed.mqtt_port, deployed.mqtts_port, deployed.influx_port, deployed.http_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) == 0, f"nothing on port {port}"
    listening = subprocess.run(["ss", "-Htln"], capture_output=True, text=True, check=False).stdout
    ours = {str(p) for p in (deployed.mqtt_port, deployed.mqtts_port, deployed.influx_port)}
    for line in listening.splitlines():
        local = line.split()[3]
        if local.rpartition(":")[2] in ours:
            assert local.startswith(("127.0.0.1:", "[::1]:")), line


def rounds_since(deployed: Deployment, probe: str, since_ms: int) -> int:
    influx = InfluxDB(port=deployed.influx_port, workdir=deployed.workdir)
    where = f"probe = '{probe}' AND time >= {since_ms}ms"
    series = influx.query("balise", f"SELECT count(seq) FROM round WHERE {where}")  # noqa: S608 - constants and a number
    return int(series[0]["values"][0][1]) if series else 0


def wait_for_rounds(deployed: Deployment, probe: str, since_ms: int) -> None:
    deadline = time.monotonic() + 60
    while rounds_since(deployed, probe, since_ms) == 0:
        assert time.monotonic() < deadline, f"no round of {probe} reached InfluxDB"
        time.sleep(1)


def run_probes_playbook(deployed: Deployment, log: str, *extra: str) -> Run:
    pinned = ["-e", f"balise_wheel={deployed.wheel}", "-e", f"balise_state_dir={PROBE_STATE}"]
    run = run_playbook("probes.yml", deployed.inventory, deployed.workdir / log, *pinned, *extra)
    assert run.returncode == 0, run.output[-4000:]
    return run


def test_probes_playbook_installs_a_probe_that_enrolls_and_publishes(deployed):
    since_ms = int(time.time() * 1000)
    run = run_probes_playbook(deployed, "probes-run.log")
    assert run.recap().failed == 0
    assert f"probe:        {OTHER}" in run.output
    assert "enrollment:" in run.output
    wait_for_rounds(deployed, OTHER, since_ms)


def test_probes_playbook_rotates_a_probes_password(deployed):
    old = deployed.password(OTHER)
    run_probes_playbook(deployed, "rotate-run.log", "-e", f"balise_rotate={OTHER}")
    new = deployed.password(OTHER)
    assert new != old
    assert Path("/etc/balise/mqtt-password").read_text().strip() == new

    async def connects(password: str) -> bool:
        try:
            async with probe_client(deployed, OTHER, password):
                return True
        except aiomqtt.MqttError:
            return False

    assert not asyncio.run(connects(old))
    assert asyncio.run(connects(new))
    # The restarted probe logs in with the new password and goes on publishing.
    wait_for_rounds(deployed, OTHER, int(time.time() * 1000))
