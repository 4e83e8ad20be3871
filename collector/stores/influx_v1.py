"""InfluxDB 1.x over its HTTP API (`/write`, `/query`), with aiohttp.

aiohttp's exceptions stop here and become collector.errors.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from balise.model.events import Event
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.settings import InfluxV1StoreSettings
from collector.stores import lineprotocol
from collector.stores.influx_http import raise_for_status

NOT_FOUND = 404


class InfluxV1Store:
    def __init__(self, settings: InfluxV1StoreSettings) -> None:
        self._settings = settings
        self._encoder = lineprotocol.LineEncoder()
        self._session: aiohttp.ClientSession | None = None
        self._database_ready = not settings.create_database
        params = {"db": settings.database, "precision": lineprotocol.PRECISION_V1}
        if settings.retention_policy:
            params["rp"] = settings.retention_policy
        self._write_params = params

    async def write(self, batch: Sequence[Received]) -> int:
        body = self._encoder.lines(batch)
        await self._write(body)
        return body.count("\n") + 1 if body else 0

    async def write_events(self, events: Sequence[Event]) -> None:
        await self._write("\n".join(lineprotocol.event_line(e) for e in events))

    async def select(self, influxql: str) -> list[dict[str, Any]]:
        """The series of one read query (`epoch=s`: times in unix seconds), for the exports."""
        params = {"db": self._settings.database, "q": influxql, "epoch": "s"}
        status, text = await self._post("/query", params, None)
        raise_for_status(status, text, what=f"query {self._settings.url}")
        try:
            result = json.loads(text)["results"][0]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise UnavailableError(f"query {self._settings.url}: {text[:300]}") from exc
        if "error" in result:
            raise RejectedError(f"query {self._settings.url}: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _write(self, body: str) -> None:
        if not body:
            return
        if not self._database_ready:
            await self._create_database()
        status, text = await self._post("/write", self._write_params, body.encode())
        if status == NOT_FOUND and self._settings.create_database:
            self._database_ready = False  # dropped behind our back: create it on the retry
        raise_for_status(status, text, what=f"write to {self._settings.url}")

    async def _create_database(self) -> None:
        name = self._settings.database.replace("\\", "\\\\").replace('"', '\\"')
        status, text = await self._post("/query", {"q": f'CREATE DATABASE "{name}"'}, None)
        raise_for_status(status, text, what=f"create database on {self._settings.url}")
        if '"error"' in text:
            raise UnavailableError(f"create database on {self._settings.url}: {text[:300]}")
        self._database_ready = True

    async def _post(
        self, path: str, params: Mapping[str, str], data: bytes | None
    ) -> tuple[int, str]:
        if self._session is None:
            settings = self._settings
            secret = settings.secret()
            self._session = aiohttp.ClientSession(
                base_url=settings.url,
                timeout=aiohttp.ClientTimeout(total=settings.timeout_s),
                auth=aiohttp.BasicAuth(settings.username, secret or "")
                if settings.username
                else None,
            )
        try:
            async with self._session.post(path, params=params, data=data) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError(f"{self._settings.url}{path}: {exc!r}") from exc
