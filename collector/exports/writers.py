"""Streaming writers: rows go out as they come, so an export of any length holds one
page in memory. A progress bar goes to the terminal only when there is one."""

import csv
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, Protocol

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

_encode = msgspec.json.Encoder().encode


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


def _cell(value: Any) -> Any:  # noqa: ANN401 - any JSON-able cell
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


async def write_csv(
    out: IO[str], columns: tuple[str, ...], rows: AsyncIterable[dict[str, Any]]
) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    async for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        n += 1
    return n


async def write_json_array(out: IO[str], items: AsyncIterable[Any]) -> int:
    """A JSON array, one item per line, written item by item."""
    out.write("[")
    n = 0
    async for item in items:
        out.write(",\n" if n else "\n")
        out.write(_encode(item).decode())
        n += 1
    out.write("\n]\n")
    return n


async def write_jsonl(out: IO[str], items: AsyncIterable[Any]) -> int:
    n = 0
    async for item in items:
        out.write(_encode(item).decode())
        out.write("\n")
        n += 1
    return n


async def each(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def show_progress(out: IO[str]) -> bool:
    """A bar on stderr when stderr is a terminal and the export does not go to it too."""
    return sys.stderr.isatty() and not (out is sys.stdout and sys.stdout.isatty())


def _ignore(n: int = 1) -> None:
    del n


@contextmanager
def progress(label: str, total: int | None, *, enabled: bool) -> Iterator[Advance]:
    if not enabled:
        yield _ignore
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
