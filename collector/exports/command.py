"""The command-line side of exports and imports: where the store is, errors as messages."""

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

from balise.config import ConfigError
from collector.exports.query import QueryError, parse_query
from collector.exports.run import ExportError, export
from collector.settings import InfluxV1StoreSettings, SqliteStoreSettings, load_settings

SQLITE_FILE = "collector.sqlite3"


def sqlite_path(sqlite: Path | None, config: Path | None) -> Path:
    """The SQLite file given, or the one the collector settings in `config` use."""
    store = store_location(sqlite, config, None)
    if not isinstance(store, Path):
        raise ExportError(f"{config}: the store is influx_v1; this reads sqlite only")
    return store


def store_location(
    sqlite: Path | None, config: Path | None, influx: InfluxV1StoreSettings | None
) -> Path | InfluxV1StoreSettings:
    """The store to read: a SQLite file, an InfluxDB 1.x server, or the collector's own."""
    if sqlite is not None:
        return sqlite
    if influx is not None:
        return influx
    if config is None:
        raise ExportError("give the store: --sqlite FILE, --influx URL or --config COLLECTOR.toml")
    settings = load_settings(config)
    store = settings.store
    if isinstance(store, InfluxV1StoreSettings):
        return store
    if not isinstance(store, SqliteStoreSettings):
        raise ExportError(f"{config}: the store is influx_v2; exports read sqlite or influx_v1")
    return Path(store.path) if store.path else Path(settings.state_dir) / SQLITE_FILE


def _influx(url: str | None, database: str) -> InfluxV1StoreSettings | None:
    if url is None:
        return None
    try:
        return InfluxV1StoreSettings(url=url, database=database, create_database=False)
    except ValueError as exc:
        raise ExportError(f"--influx: {exc}") from None


def run_export(
    what: str,
    fmt: str,
    filters: Mapping[str, str | None],
    *,
    sqlite: Path | None,
    config: Path | None,
    output: Path | None,
    influx: str | None = None,
    database: str = "balise",
) -> int:
    """Exit status: 0 written, 2 bad parameters or no store."""
    try:
        query = parse_query({k: v for k, v in filters.items() if v is not None})
        store = store_location(sqlite, config, _influx(influx, database))
        n = asyncio.run(export(what, fmt, query, store, output))
    except (QueryError, ExportError, ConfigError) as exc:
        print(f"balise export: {exc}", file=sys.stderr)  # noqa: T201 - a command's message
        return 2
    where = output if output is not None else "standard output"
    print(f"balise export: {n} {what} written to {where}", file=sys.stderr)  # noqa: T201
    return 0
