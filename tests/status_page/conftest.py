import pytest

from tests.support.api_server import ApiServer
from tests.support.sim_store import simulate


@pytest.fixture(scope="session")
def page_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "collector.sqlite3"
    simulate(path)
    with ApiServer(path) as server:
        yield server
