"""A TCP relay from a lab namespace's loopback to the root namespace's loopback.

The collector runs in the lab's Internet; the InfluxDB a user names with
`--influx-url` listens on the machine's own loopback. The relay's listening socket
is made inside the core namespace (nsenter), its outgoing connections in ours:
no lab address or route ever touches the root namespace.
"""

import asyncio
import contextlib
import socket
from types import TracebackType
from typing import Self

from balise.lab.netns.nsenter import socket_in

_CHUNK = 65536


class Relay:
    def __init__(self, ns: str, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.ns = ns
        self.listen = listen
        self.target = target
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        sock = socket_in(self.ns, socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen)
        self._server = await asyncio.start_server(self._accept, sock=sock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        for source, sink, name in (
            (reader, upstream_writer, "relay:out"),
            (upstream_reader, writer, "relay:back"),
        ):
            task = asyncio.create_task(_pipe(source, sink), name=name)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass  # either side went away: the other is closed below
    finally:
        with contextlib.suppress(OSError):
            sink.close()
