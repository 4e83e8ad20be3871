"""TLS sessions resumed across rounds: the chain is not sent again, and a server that
cannot resume the session (an impostor, a server without tickets) gets a full,
verified handshake."""

import asyncio
import contextlib
import gc
import ssl
from collections.abc import AsyncIterator

from probe.backend import NetworkBackend, TlsConnection
from probe.measurements import tls
from probe.measurements.timing import RoundClock
from tests.support.local_tls import LocalServer, Pki, reset_on_hello
from tests.support.memory import rss_mb

SNI = "platform.test"


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Say one line after the handshake: reading it makes the client take its tickets."""
    writer.write(b"hello\n")
    await writer.drain()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await reader.read()
    writer.close()


class CountingRelay:
    """A TCP relay in front of a server, counting the bytes the server sends."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.from_server = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(
            self._pipe(reader, up_writer, count=False), self._pipe(up_reader, writer, count=True)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if count:
                    self.from_server += len(data)
                writer.write(data)
                await writer.drain()
        writer.close()


async def talk(backend: NetworkBackend, port: int) -> TlsConnection:
    """A verified handshake with SNI, then the server's line read, then closed."""
    connection = await backend.tls_connect("127.0.0.1", port, SNI, verify=True)
    try:
        assert await connection.reader.readline() == b"hello\n"
    finally:
        connection.close()
    return connection


@contextlib.asynccontextmanager
async def server(context: ssl.SSLContext) -> AsyncIterator[LocalServer]:
    async with LocalServer(greet, context=context) as listening:
        yield listening


async def test_second_connection_resumes_without_the_chain(
    backend: NetworkBackend, pki: Pki
) -> None:
    async with server(pki.server_context(SNI)) as tls_server:
        relay = CountingRelay(tls_server.port)
        async with LocalServer(relay.handle) as front:
            first = await talk(backend, front.port)
            full = relay.from_server
            second = await talk(backend, front.port)
            resumed = relay.from_server - full
    assert (first.resumed, second.resumed) == (False, True)
    chain = len(pki.ca.issue_cert(SNI).cert_chain_pems[0].bytes())  # PEM: larger than DER
    assert full - resumed > chain / 2, (full, resumed)


async def test_an_impostor_cannot_resume_and_fails_verification(
    backend: NetworkBackend, pki: Pki, clock: RoundClock
) -> None:
    async with server(pki.server_context(SNI)) as genuine:
        assert (await talk(backend, genuine.port)).resumed is False
    # Same name, another server (its own ticket keys) with an untrusted certificate.
    async with server(pki.server_context(SNI, rogue=True)) as impostor:
        config = tls.Config(
            clock=clock, address="127.0.0.1", port=impostor.port, sni=SNI, timeout=2.0
        )
        result = await tls.run(config, backend)
    assert result.failure == "ssl_unknown_authority"
    assert result.resumed is False


async def test_a_server_without_tickets_gets_full_handshakes(
    backend: NetworkBackend, pki: Pki
) -> None:
    context = pki.server_context(SNI)
    context.options |= ssl.OP_NO_TICKET
    context.num_tickets = 0
    async with server(context) as no_tickets:
        connections = [await talk(backend, no_tickets.port) for _ in range(2)]
    assert [c.resumed for c in connections] == [False, False]


async def test_sessions_are_per_name(backend: NetworkBackend, pki: Pki, clock: RoundClock) -> None:
    """A session of one name is never offered to another."""
    async with server(pki.server_context(SNI, "other.test")) as tls_server:
        await talk(backend, tls_server.port)

        def config(sni: str) -> tls.Config:
            return tls.Config(
                clock=clock, address="127.0.0.1", port=tls_server.port, sni=sni, timeout=2.0
            )

        other = await tls.run(config("other.test"), backend)
        again = await tls.run(config(SNI), backend)
    assert other.failure is None
    assert other.resumed is False
    assert again.failure is None
    assert again.resumed is True
    assert again.cert_valid is True


async def test_a_refused_session_is_replaced_by_the_next_full_handshakes(
    backend: NetworkBackend, pki: Pki
) -> None:
    """The server rotated its ticket key: one full handshake, then resumption again."""
    async with server(pki.server_context(SNI)) as before:
        assert [(await talk(backend, before.port)).resumed for _ in range(2)] == [False, True]
    async with server(pki.server_context(SNI)) as rotated:  # a new context: new ticket keys
        after = [(await talk(backend, rotated.port)).resumed for _ in range(3)]
    assert after == [False, True, True]


async def test_a_blocked_handshake_keeps_the_session(
    backend: NetworkBackend, pki: Pki, clock: RoundClock
) -> None:
    """A censor resetting one handshake does not cost the name its session."""
    async with server(pki.server_context(SNI)) as tls_server:
        await talk(backend, tls_server.port)
        async with LocalServer(reset_on_hello) as censor:
            config = tls.Config(
                clock=clock, address="127.0.0.1", port=censor.port, sni=SNI, timeout=2.0
            )
            blocked = await tls.run(config, backend)
        again = await talk(backend, tls_server.port)
    assert blocked.failure == "connection_reset"
    assert again.resumed is True


async def test_resumed_handshakes_do_not_grow_memory(backend: NetworkBackend, pki: Pki) -> None:
    """A session is read once per full handshake: each read leaks a copy (~6 kB) on
    CPython before 3.12.7, which reading it after every handshake made ~2.4 MB here."""
    async with server(pki.server_context(SNI)) as tls_server:
        for _ in range(40):  # warm-up: allocator pools, the first full handshake
            await talk(backend, tls_server.port)
        gc.collect()
        before = rss_mb()
        resumed = [(await talk(backend, tls_server.port)).resumed for _ in range(1000)]
        gc.collect()
        grown = rss_mb() - before
    assert all(resumed)
    assert grown < 0.6, f"RSS grew {grown:.2f} MB over 1000 resumed handshakes"
