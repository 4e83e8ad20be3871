"""InfluxQL over InfluxDB 1.x's HTTP API (`/query`), with aiohttp.

aiohttp's exceptions and InfluxDB's error answers stop here and become QueryError.
"""

from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
import msgspec


class QueryError(Exception):
    """InfluxDB could not be reached, or refused or failed the query; the message says which."""


class _Series(msgspec.Struct, frozen=True):
    columns: list[str]
    values: list[list[object]] = msgspec.field(default_factory=list)
    tags: dict[str, str] = msgspec.field(default_factory=dict)


class _Statement(msgspec.Struct, frozen=True):
    series: list[_Series] = msgspec.field(default_factory=list)
    error: str | None = None


class _Answer(msgspec.Struct, frozen=True):
    results: list[_Statement] = msgspec.field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    tags: tuple[tuple[str, str], ...] = ()  # of a GROUP BY


class InfluxQuery:
    """`async with InfluxQuery(url, db) as influx: await influx.query("SELECT ...")`."""

    def __init__(self, url: str, database: str, *, timeout_s: float = 30.0) -> None:
        self._url = url.rstrip("/")
        self._database = database
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def query(self, influxql: str) -> list[Series]:
        """The series of the one statement in `influxql`, times in epoch milliseconds."""
        if self._session is None:
            raise RuntimeError("InfluxQuery is used outside `async with`")
        params = {"db": self._database, "q": influxql, "epoch": "ms"}
        try:
            async with self._session.get(f"{self._url}/query", params=params) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise QueryError(f"cannot reach InfluxDB at {self._url}: {exc}") from exc
        try:
            answer = msgspec.json.decode(body, type=_Answer)
        except msgspec.DecodeError as exc:
            raise QueryError(f"InfluxDB answered HTTP {status}: {body[:200]!r}") from exc
        errors = [answer.error] + [s.error for s in answer.results]
        if message := next((e for e in errors if e), None):
            raise QueryError(message)
        if status >= 300:  # noqa: PLR2004 - any non-2xx status
            raise QueryError(f"InfluxDB answered HTTP {status}")
        return [
            Series(
                columns=tuple(s.columns),
                rows=tuple(tuple(row) for row in s.values),
                tags=tuple(sorted(s.tags.items())),
            )
            for statement in answer.results
            for s in statement.series
        ]
