"""A DNS-over-HTTPS server for `balise bench probe`: the default catalog's independent
resolver is DoH, so the bench's world answers DoH too, and its traffic is counted.

RFC 8484 POST on HTTP/1.1 with keep-alive (h11 on asyncio streams), answering from
the lab's authoritative records. Run as `python -m balise.bench.doh SETTINGS.toml`.
"""

import asyncio
import ssl
import sys
from pathlib import Path

import dns.exception
import dns.message
import h11
import msgspec

from balise.config import ConfigError, load_toml
from balise.lab.netns.authdns import Authority

CHUNK = 16_384


class DohSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    address: str
    port: int
    pem: str  # the server's key and certificate chain
    records: dict[str, str]  # name -> IPv4 address


async def _serve_connection(
    authority: Authority, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    connection = h11.Connection(h11.SERVER)
    body = b""
    try:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(CHUNK))
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                writer.write(await _answer(connection, authority, body))
                await writer.drain()
                body = b""
                if connection.our_state is not h11.DONE:
                    return
                connection.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return
    except (h11.ProtocolError, ConnectionError, ssl.SSLError):
        return
    finally:
        writer.transport.abort()


async def _answer(connection: h11.Connection, authority: Authority, body: bytes) -> bytes:
    try:
        reply = (await authority.answer(dns.message.from_wire(body))).to_wire()
        status, kind = 200, b"application/dns-message"
    except dns.exception.DNSException:
        reply, status, kind = b"not a DNS query", 400, b"text/plain"
    headers = [(b"Content-Type", kind), (b"Content-Length", str(len(reply)).encode())]
    return b"".join(
        connection.send(event) or b""
        for event in (
            h11.Response(status_code=status, headers=headers),
            h11.Data(data=reply),
            h11.EndOfMessage(),
        )
    )


async def serve(settings: DohSettings) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(settings.pem)
    authority = Authority(settings.records)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(authority, reader, writer)

    server = await asyncio.start_server(handle, settings.address, settings.port, ssl=context)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    try:
        settings = load_toml(Path(argv[1]), DohSettings)
        asyncio.run(serve(settings))
    except (ConfigError, OSError, IndexError) as exc:
        sys.stderr.write(f"doh: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
