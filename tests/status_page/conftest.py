import asyncio

import pytest

from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from collector.ooni.load import import_files
from tests.conftest import SHARED
from tests.support.api_server import ApiServer
from tests.support.sim_store import simulate


@pytest.fixture(scope="session")
def page_server(tmp_path_factory):
    """The mixed scenarios' store, with the shared OONI samples imported when present."""
    path = tmp_path_factory.mktemp("sim") / "collector.sqlite3"
    simulate(path)
    samples = sorted((SHARED / "ooni-samples").glob("*.json"))
    if samples:
        catalog = load_toml(BUILTIN_CATALOG, Catalog)
        asyncio.run(import_files(samples, catalog, path))
    with ApiServer(path) as server:
        server.ooni_imported = bool(samples)
        yield server
