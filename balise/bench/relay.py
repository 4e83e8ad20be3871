"""A loopback TCP relay that can be cut: a network shutdown between some probes and the broker.

async with Relay(broker_port) as relay:   # probes connect to relay.port
    relay.cut()      # every connection drops; new ones are refused
    relay.restore()
"""

import asyncio
import contextlib
from types import TracebackType
from typing import Self

CHUNK = 65536


class Relay:
    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._cut = False
        self.port = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._connections:
            await asyncio.wait(self._connections)

    def cut(self) -> None:
        self._cut = True
        for task in self._connections:
            task.cancel()

    def restore(self) -> None:
        self._cut = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            pass  # cut: the connection just drops
        finally:
            self._connections.discard(task)
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            return  # the broker is down: so is this connection
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(_pipe(reader, up_writer), name="relay-up")
                group.create_task(_pipe(up_reader, writer), name="relay-down")
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    # One side ended: end the other, so the TaskGroup's sibling stops too.
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
