"""The command-line side of exports and imports: where the store is, errors as messages."""

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

from balise.config import ConfigError
from collector.exports.query import QueryError, parse_query
from collector.exports.run import ExportError, export
from collector.settings import SqliteStoreSettings, load_settings

SQLITE_FILE = "collector.sqlite3"


def sqlite_path(sqlite: Path | None, config: Path | None) -> Path:
    """The SQLite file given, or the one the collector settings in `config` use."""
    if sqlite is not None:
        return sqlite
    if config is None:
        raise ExportError("give the store: --sqlite FILE or --config COLLECTOR.toml")
    settings = load_settings(config)
    store = settings.store
    if not isinstance(store, SqliteStoreSettings):
        raise ExportError(
            f"{config}: the store is {store.__struct_config__.tag}; only sqlite is read"
        )
    return Path(store.path) if store.path else Path(settings.state_dir) / SQLITE_FILE


def run_export(
    what: str,
    fmt: str,
    filters: Mapping[str, str | None],
    *,
    sqlite: Path | None,
    config: Path | None,
    output: Path | None,
) -> int:
    """Exit status: 0 written, 2 bad parameters or no store."""
    try:
        query = parse_query({k: v for k, v in filters.items() if v is not None})
        path = sqlite_path(sqlite, config)
        n = asyncio.run(export(what, fmt, query, path, output))
    except (QueryError, ExportError, ConfigError) as exc:
        print(f"balise export: {exc}", file=sys.stderr)  # noqa: T201 - a command's message
        return 2
    where = output if output is not None else "standard output"
    print(f"balise export: {n} {what} written to {where}", file=sys.stderr)  # noqa: T201
    return 0
