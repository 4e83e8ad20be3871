"""A small lab for the netns tests, and the check that it leaves nothing behind."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from balise.config import load_toml
from balise.lab.netns.lab import Lab
from balise.lab.scenario import Scenario, parse
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from tests.conftest import is_root
from tests.lab.netns.peek import netns_list, processes_mentioning, root_lab_tables

needs_root = [pytest.mark.root, pytest.mark.skipif(not is_root(), reason="netns mode needs root")]

# Two operators in one country, one in another: enough to see that an action on one
# network leaves the others alone.
SCENARIO = parse(
    """
format = 1
name = "netns-test"
round_s = 2
duration_s = 60
control = true

[[network]]
name = "mobile-nc"
asn = 64500
country = "NC"
region = "Sud"
access = "mobile"

[[network]]
name = "fixed-nc"
asn = 64501
country = "NC"
region = "Sud"
access = "fixed"

[[network]]
name = "fixed-fj"
asn = 64502
country = "FJ"
access = "fixed"

[[probe]]
id = "nc-mobile"
network = "mobile-nc"

[[probe]]
id = "nc-fixed"
network = "fixed-nc"

[[probe]]
id = "fj-fixed"
network = "fixed-fj"
""",
    source="tests/lab/netns/conftest.py",
)


@pytest.fixture
def scenario() -> Scenario:
    return SCENARIO


@pytest.fixture
def catalog() -> Catalog:
    return load_toml(BUILTIN_CATALOG, Catalog)


@pytest.fixture
async def lab(scenario: Scenario, catalog: Catalog, tmp_path: Path) -> AsyncIterator[Lab]:
    tables_before = root_lab_tables()
    async with Lab(scenario, catalog=catalog, run_dir=tmp_path / "run") as running:
        yield running
    assert_left_nothing(running, tables_before)


def assert_left_nothing(lab: Lab, root_tables_before: list[str]) -> None:
    prefix = f"bl{lab.plan.run_id}-"
    assert [ns for ns in netns_list() if ns.startswith(prefix)] == []
    assert not list(Path("/etc/netns").glob(f"{prefix}*"))
    assert root_lab_tables() == root_tables_before
    assert processes_mentioning(str(lab.run_dir)) == []
