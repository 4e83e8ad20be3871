"""`balise import ooni`: the command-line side of the OONI importer."""

import asyncio
import sys
from pathlib import Path

from balise.config import ConfigError, load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from collector.exports.command import sqlite_path
from collector.exports.rows import utc
from collector.exports.run import ExportError
from collector.ooni.classify import Classified
from collector.ooni.load import import_files


def line(c: Classified) -> str:
    r = c.result
    layer = f"{r.failed_layer} {r.failure}" if r.failed_layer else "ok"
    return (
        f"{utc(c.time)} {c.country} AS{c.asn} {c.test_name} {c.target} {c.input or '-'}:"
        f" {layer} -> {c.verdict} ({c.reason}); OONI said blocking={c.ooni_blocking}"
    )


def run_import(
    files: list[Path],
    *,
    sqlite: Path | None,
    config: Path | None,
    catalog: Path | None,
    dry_run: bool,
) -> int:
    """Exit status: 0 imported, 1 some measurements were malformed, 2 nothing could run."""
    try:
        fleet = load_toml(catalog or BUILTIN_CATALOG, Catalog)
        path = None if dry_run else sqlite_path(sqlite, config)
        report, records = asyncio.run(import_files(files, fleet, path))
    except (ExportError, ConfigError) as exc:
        print(f"balise import: {exc}", file=sys.stderr)  # noqa: T201 - a command's message
        return 2
    for record in records:
        print(line(record))  # noqa: T201 - the dry run's listing
    for problem in report.malformed:
        print(f"balise import: skipped {problem}", file=sys.stderr)  # noqa: T201
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(report.verdicts.items()))
    print(  # noqa: T201
        f"balise import: {report.read} read, {report.stored} stored"
        f" ({verdicts or 'none'}), {len(report.malformed)} malformed",
        file=sys.stderr,
    )
    return 1 if report.malformed else 0
