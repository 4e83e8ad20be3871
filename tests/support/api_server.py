"""The collector's HTTP application (API and status page) over a SQLite store, served on a
loopback port from its own thread, so synchronous clients (schemathesis, a browser) and
async tests alike can talk to it."""

import asyncio
import threading
from pathlib import Path
from typing import Self

import msgspec

from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from balise.model.messages import Round
from collector import api, status_page
from collector.counters import Counters
from collector.http import make_app, serve
from collector.latest import LatestView
from collector.stores.sqlite import SqliteStore


async def latest_of(store: SqliteStore) -> LatestView:
    """The probes' latest state, as ingest would have left it."""
    latest = LatestView()
    for raw in await store.rounds(limit=1_000_000):
        round_ = msgspec.json.decode(raw, type=Round)
        latest.observe_round(round_, round_.started + 1.0)
    return latest


class ApiServer:
    def __init__(self, sqlite: Path) -> None:
        self.sqlite = sqlite
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the API server did not start")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the test by __enter__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        store = SqliteStore(self.sqlite)
        try:
            app = make_app(Counters())
            catalog = load_toml(BUILTIN_CATALOG, Catalog)
            api.add_routes(app, await latest_of(store), None, store=store, catalog=catalog)
            status_page.add_routes(app)
            async with serve(app, "127.0.0.1", 0) as port:
                self.port = port
                self._ready.set()
                await self._stop.wait()
        finally:
            await store.close()
