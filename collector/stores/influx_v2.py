"""InfluxDB 2.x (and 3.x's v2-compatible API) through influxdb-client's async write API.

influxdb-client's and aiohttp's exceptions stop here and become collector.errors.
"""

from collections.abc import Sequence

import aiohttp
from influxdb_client.client.exceptions import InfluxDBError
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from balise.model.events import Event
from collector.errors import UnavailableError
from collector.received import Received
from collector.settings import InfluxV2StoreSettings
from collector.stores import lineprotocol
from collector.stores.influx_http import raise_for_status


class InfluxV2Store:
    def __init__(self, settings: InfluxV2StoreSettings) -> None:
        self._settings = settings
        self._encoder = lineprotocol.LineEncoder()
        self._client: InfluxDBClientAsync | None = None

    async def write(self, batch: Sequence[Received]) -> int:
        body = self._encoder.lines(batch)
        await self._write(body)
        return body.count("\n") + 1 if body else 0

    async def write_events(self, events: Sequence[Event]) -> None:
        await self._write("\n".join(lineprotocol.event_line(e) for e in events))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]  # untyped in the library
            self._client = None

    async def _write(self, body: str) -> None:
        if not body:
            return
        settings = self._settings
        if self._client is None:
            self._client = InfluxDBClientAsync(
                url=settings.url,
                token=settings.secret(),
                org=settings.org,
                timeout=int(settings.timeout_s * 1000),
            )
        what = f"write to {settings.url} bucket {settings.bucket}"
        try:
            await self._client.write_api().write(
                bucket=settings.bucket,
                org=settings.org,
                record=body,
                # The library's WritePrecision constants are plain strings such as this one.
                write_precision=lineprotocol.PRECISION_V2,  # type: ignore[arg-type]
            )
        except InfluxDBError as exc:
            status = exc.response.status if exc.response is not None else 0
            raise_for_status(status, exc.message or str(exc), what=what)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError(f"{what}: {exc!r}") from exc
