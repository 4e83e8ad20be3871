"""`balise import ooni FILE…`: read OONI measurements (one JSON document, a JSON list, or
JSON Lines, optionally gzipped), classify them, store them beside Balise's own.

A line that is not an OONI measurement is counted and named, and the import goes on.
"""

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from balise.model.catalog import Catalog
from collector.ooni import format as ooni
from collector.ooni.classify import Classified, classify, digest_of
from collector.ooni.imported import ImportedSource
from collector.stores.sqlite import SqliteStore

BATCH = 500


@dataclass(slots=True)
class ImportReport:
    read: int = 0
    stored: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    malformed: list[str] = field(default_factory=list)  # "FILE:LINE: why"


def documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, JSON bytes) of each measurement in the file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read() if path.name.removesuffix(".gz").endswith(".json") else None
        if data is not None:
            stripped = data.lstrip()
            if stripped.startswith(b"["):
                for i, item in enumerate(json.loads(stripped)):
                    yield f"{path}[{i}]", json.dumps(item).encode()
            else:
                yield str(path), data
            return
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield f"{path}:{number}", line


def read(paths: list[Path], catalog: Catalog, report: ImportReport) -> Iterator[Classified]:
    for path in paths:
        try:
            for where, data in documents(path):
                report.read += 1
                try:
                    yield classify(ooni.decode(data), catalog, digest=digest_of(data))
                except ooni.OoniFormatError as exc:
                    report.malformed.append(f"{where}: {exc}")
        except (OSError, ValueError) as exc:
            report.malformed.append(f"{path}: {exc}")


async def import_files(
    paths: list[Path], catalog: Catalog, sqlite: Path | None
) -> tuple[ImportReport, list[Classified]]:
    """Classify every measurement; store them when `sqlite` is given. The classified
    records are returned only when not storing (a dry run lists them)."""
    report = ImportReport()
    kept: list[Classified] = []
    store = SqliteStore(sqlite) if sqlite is not None else None
    try:
        batch: list[Classified] = []
        for record in read(paths, catalog, report):
            report.verdicts[record.verdict] += 1
            if store is None:
                kept.append(record)
                continue
            batch.append(record)
            if len(batch) >= BATCH:
                await ImportedSource(store).write(batch)
                report.stored += len(batch)
                batch = []
        if store is not None and batch:
            await ImportedSource(store).write(batch)
            report.stored += len(batch)
    finally:
        if store is not None:
            await store.close()
    return report, kept
