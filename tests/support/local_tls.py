"""Loopback TCP/TLS servers that misbehave on purpose, and a test PKI from trustme.

Each server is an async context manager listening on `host`, port 0 (random) unless
told; `.port` is the port it got.
"""

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Pki:
    """A trusted test CA (its PEM in `ca_file`) and an unknown, untrusted one."""

    ca: trustme.CA
    rogue: trustme.CA
    ca_file: Path

    @classmethod
    def create(cls, directory: Path) -> "Pki":
        ca = trustme.CA()
        ca_file = directory / "test-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(ca=ca, rogue=trustme.CA(), ca_file=ca_file)

    def server_context(self, *names: str, rogue: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (self.rogue if rogue else self.ca).issue_cert(*names).configure_cert(context)
        return context


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the kernel answers with a TCP RST."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def reset_on_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(4096)
    reset(writer)


async def close_on_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(4096)
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(4096):
            pass
    writer.close()


def sni_filter(upstream: tuple[str, int], blocked: tuple[str, ...]) -> Handler:
    """A censor's middlebox: a ClientHello naming a blocked host gets a reset, others pass."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hello = await reader.read(4096)
        if any(name.encode() in hello for name in blocked):
            reset(writer)
            return
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        up_writer.write(hello)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@dataclass
class LocalServer:
    """asyncio.start_server around one handler (with TLS when `context` is given)."""

    handler: Handler
    host: str = "127.0.0.1"
    port: int = 0
    context: ssl.SSLContext | None = None
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=self.context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, ssl.SSLError):
            writer.close()
        finally:
            self._tasks.discard(task)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


class FullBacklog:
    """A port whose accept queue is full: the kernel drops new SYNs, connects time out."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.listener = socket.socket()
        self.listener.bind((host, 0))
        self.listener.listen(0)
        self.port: int = self.listener.getsockname()[1]
        self.filler = socket.create_connection((host, self.port))  # takes the only slot

    def close(self) -> None:
        self.filler.close()
        self.listener.close()


def refused_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
