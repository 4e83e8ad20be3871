"""The UDP loop the lab's two DNS servers share: parse, answer, send back.

A datagram that is not a DNS query is dropped, as a real server would.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import dns.exception
import dns.message

from balise.lab.netns.processes import announce_ready

log = logging.getLogger(__name__)

Answer = Callable[[dns.message.Message], Awaitable[dns.message.Message]]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)  # a UDP endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException as exc:
            log.info("dropped a malformed query from %s: %s", addr, exc)
            return
        task = asyncio.create_task(self._reply(query, addr), name=f"dns-query:{query.id}")
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _reply(self, query: dns.message.Message, addr: tuple[str | int, int]) -> None:
        response = await self.answer(query)
        if self.transport is not None:
            self.transport.sendto(response.to_wire(), addr)


async def serve_udp(address: str, port: int, answer: Answer) -> None:
    """Answer queries on address:port until cancelled; print `ready` once bound."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Protocol(answer), local_addr=(address, port)
    )
    announce_ready()
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
        for task in list(protocol.pending):
            task.cancel()
