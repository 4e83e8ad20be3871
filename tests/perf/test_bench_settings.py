"""The benchmarks measure the servers a deployment runs, not better-tuned ones."""

from pathlib import Path

import yaml

from balise.bench.ping_sockets import EVERY_GROUP
from balise.bench.probe import UNIT_ENVIRONMENT
from balise.bench.services import (
    INFLUXDB_GC_PERCENT,
    INFLUXDB_MEMORY_LIMIT_SHARE,
    MOSQUITTO_MAX_INFLIGHT,
    PRODUCTION_COORDINATOR_SETTINGS,
    PRODUCTION_DATA_SETTINGS,
)

ROLES = Path(__file__).parents[2] / "ansible/roles"
TEMPLATE = ROLES / "influxdb/templates/influxdb.conf.j2"


def test_bench_influxdb_has_the_deployed_data_settings():
    deployed = {line.strip() for line in TEMPLATE.read_text().splitlines()}
    settings = f"{PRODUCTION_DATA_SETTINGS}\n{PRODUCTION_COORDINATOR_SETTINGS}"
    for setting in settings.splitlines():
        assert setting in deployed, f"{setting!r} is not in {TEMPLATE}"


def test_bench_influxdb_collects_garbage_as_deployed():
    defaults = yaml.safe_load((ROLES / "influxdb/defaults/main.yml").read_text())
    assert defaults["influxdb_go_gc_percent"] == INFLUXDB_GC_PERCENT
    limit = defaults["influxdb_go_memory_limit_mb"].replace(" ", "")
    assert f"(ansible_memtotal_mb*{INFLUXDB_MEMORY_LIMIT_SHARE})" in limit


def test_bench_mosquitto_has_the_deployed_inflight_window():
    defaults = yaml.safe_load((ROLES / "mosquitto/defaults/main.yml").read_text())
    assert defaults["mosquitto_max_inflight_messages"] == MOSQUITTO_MAX_INFLIGHT


def test_bench_probe_runs_with_the_units_environment():
    unit = (ROLES.parents[1] / "firmware/systemd/balise-probe.service").read_text()
    lines = {line.strip() for line in unit.splitlines()}
    for name, value in UNIT_ENVIRONMENT.items():
        assert f"Environment={name}={value}" in lines


def test_bench_probe_opens_ping_sockets_as_the_firmware_does():
    conf = (ROLES.parents[1] / "firmware/sysctl.d/60-balise-ping.conf").read_text()
    assert f"net.ipv4.ping_group_range = {EVERY_GROUP}" in conf.splitlines()
