"""HTTP/1.1 exchanges: the probe's whole HTTP client.

A measurement makes one request (GET, or HEAD when only the status and headers
matter) per connection to an address it chose (`exchange`);
the independent resolver's DoH queries share a kept-alive connection (`Session`).
The probe never follows redirects itself (probe/measurements/http.py does, hop by
hop) and reads a capped body. h11 parses the protocol (status line, headers, chunked
or sized bodies); asyncio's streams carry it. That is all a measurement needs, at a fraction of an
HTTP library's memory: the probe must fit a Pi Zero (docs/performance.md).

A server that closes before its response is complete raises `EOFError`; one that
breaks the protocol raises `h11.RemoteProtocolError` (probe/classify.py names both).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

CHUNK = 16_384
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL's request goes: its host (Host header, TLS server name), port and path."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @classmethod
    def of(cls, url: str) -> "Target":
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme], path)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = self.port == DEFAULT_PORTS[self.scheme]
        return host if default else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    location: str | None
    body: bytes  # the first `keep_bytes` of the body
    length: int  # body bytes read; reading stops at `max_bytes`
    seconds: float  # from the request to the last byte read


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    target: Target,
    *,
    method: str = "GET",
    headers: dict[str, str],
    keep_bytes: int,
    max_bytes: int,
    max_seconds: float | None = None,
) -> Reply:
    """Request `target` (GET or HEAD) over a connection the caller opened (and
    TLS-wrapped for https) and this call closes; stop reading after `max_bytes` bytes of
    body or `max_seconds` of reading, without error. The caller bounds the whole."""
    started = time.monotonic()
    try:
        connection = h11.Connection(h11.CLIENT)
        fields = {"Host": target.host_header, "Connection": "close", **headers}
        request = h11.Request(method=method, target=target.path, headers=list(fields.items()))
        writer.write(connection.send(request) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        response = await _response(connection, reader)
        kept, length = await _body(connection, reader, keep_bytes, max_bytes, max_seconds)
        return _reply(response, kept, length, started)
    finally:
        writer.transport.abort()  # one request per connection; no goodbye needed


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Session:
    """Requests to one server over one kept-alive HTTP/1.1 connection, one at a time.

    For the independent resolver's DoH queries, some twenty a round: a connection (and a
    TLS handshake) each would cost the probe's data plan more than the queries. A kept
    connection the server has closed since is reopened once, for the same request; any
    other failure is the request's, and the next request opens a fresh connection. A
    connection idle for `idle_s` is not reused: a NAT on the way may have forgotten it,
    and a request into a forgotten flow would only time out.
    """

    def __init__(self, connect: Callable[[], Awaitable[Streams]], *, idle_s: float) -> None:
        """`connect` opens a connection to the server (TLS-wrapped for https)."""
        self._connect = connect
        self._idle_s = idle_s
        self._lock = asyncio.Lock()
        self._open: tuple[Streams, h11.Connection] | None = None
        self._last_used = 0.0  # monotonic

    async def request(
        self,
        target: Target,
        *,
        method: str,
        headers: dict[str, str],
        body: bytes,
        keep_bytes: int,
        max_bytes: int,
    ) -> Reply:
        async with self._lock:
            if time.monotonic() - self._last_used > self._idle_s:
                self.close()
            reused = self._open is not None
            try:
                return await self._request(target, method, headers, body, keep_bytes, max_bytes)
            except (ConnectionError, EOFError, h11.RemoteProtocolError):
                if not reused:
                    raise
            return await self._request(target, method, headers, body, keep_bytes, max_bytes)

    def close(self) -> None:
        if self._open is not None:
            self._open[0][1].transport.abort()
            self._open = None

    async def _request(
        self,
        target: Target,
        method: str,
        headers: dict[str, str],
        body: bytes,
        keep_bytes: int,
        max_bytes: int,
    ) -> Reply:
        if self._open is None:
            self._open = (await self._connect(), h11.Connection(h11.CLIENT))
        (reader, writer), connection = self._open
        started = time.monotonic()
        try:
            fields = {"Host": target.host_header, **headers, "Content-Length": str(len(body))}
            request = h11.Request(method=method, target=target.path, headers=list(fields.items()))
            writer.write(connection.send(request) or b"")
            writer.write(connection.send(h11.Data(data=body)) or b"")
            writer.write(connection.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            response = await _response(connection, reader)
            kept, length = await _body(connection, reader, keep_bytes, max_bytes, None)
        except BaseException:
            self.close()  # in an unknown state: never reused
            raise
        if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
            connection.start_next_cycle()
            self._last_used = time.monotonic()
        else:  # the server closes it, or the body was cut short
            self.close()
        return _reply(response, kept, length, started)


def _reply(response: h11.Response, kept: bytes, length: int, started: float) -> Reply:
    location = next((v for k, v in response.headers if k == b"location"), None)
    return Reply(
        status=response.status_code,
        location=location.decode("latin-1") if location is not None else None,
        body=kept,
        length=length,
        seconds=time.monotonic() - started,
    )


async def _next(connection: h11.Connection, reader: asyncio.StreamReader) -> object:
    """The next h11 event, reading from the socket as needed."""
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await reader.read(CHUNK)
        if not data:
            try:
                connection.receive_data(b"")
                return connection.next_event()
            except h11.RemoteProtocolError as exc:
                raise EOFError("the server closed the connection mid-response") from exc
        connection.receive_data(data)


async def _response(connection: h11.Connection, reader: asyncio.StreamReader) -> h11.Response:
    while True:
        event = await _next(connection, reader)
        if isinstance(event, h11.Response):
            return event
        if isinstance(event, h11.ConnectionClosed):
            raise EOFError("the server closed the connection before answering")  # noqa: TRY004 - a hang-up, not a type error
        # an informational response (1xx): the real one follows


async def _body(
    connection: h11.Connection,
    reader: asyncio.StreamReader,
    keep_bytes: int,
    max_bytes: int,
    max_seconds: float | None,
) -> tuple[bytes, int]:
    kept = bytearray()
    length = 0
    reading = asyncio.timeout(max_seconds)
    try:
        async with reading:
            while length < max_bytes:
                event = await _next(connection, reader)
                if not isinstance(event, h11.Data):
                    break  # EndOfMessage, or the connection closed after a complete body
                chunk = bytes(event.data[: max_bytes - length])
                length += len(chunk)
                if len(kept) < keep_bytes:
                    kept += chunk[: keep_bytes - len(kept)]
    except TimeoutError:
        if not reading.expired():
            raise  # not our time cap: a failure
    return bytes(kept), length
