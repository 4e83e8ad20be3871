from pathlib import Path

import pytest

from tests.support.sim_store import simulate


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory):
    """(SQLite file, events) of the mixed scenarios, made once."""
    path = tmp_path_factory.mktemp("sim") / "collector.sqlite3"
    return path, simulate(path)


@pytest.fixture
def sqlite_file(sim_store) -> Path:
    return sim_store[0]
