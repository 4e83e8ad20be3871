import pytest

from tests.support.api_server import ApiServer
from tests.support.sim_store import simulate


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "collector.sqlite3"
    return path, simulate(path)


@pytest.fixture(scope="session")
def api_server(sim_store):
    with ApiServer(sim_store[0]) as server:
        yield server
