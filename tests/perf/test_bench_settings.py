"""The benchmarks measure the servers a deployment runs, not better-tuned ones."""

from pathlib import Path

from balise.bench.services import PRODUCTION_COORDINATOR_SETTINGS, PRODUCTION_DATA_SETTINGS

TEMPLATE = Path(__file__).parents[2] / "ansible/roles/influxdb/templates/influxdb.conf.j2"


def test_bench_influxdb_has_the_deployed_data_settings():
    deployed = {line.strip() for line in TEMPLATE.read_text().splitlines()}
    settings = f"{PRODUCTION_DATA_SETTINGS}\n{PRODUCTION_COORDINATOR_SETTINGS}"
    for setting in settings.splitlines():
        assert setting in deployed, f"{setting!r} is not in {TEMPLATE}"
