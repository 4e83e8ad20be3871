"""A tiny DNS server on loopback (UDP), built on dnspython's message parsing.

It answers A and AAAA queries from a dict of name -> addresses and NXDOMAIN for
any other name; names listed in `rcodes` get that response code instead, names in
`silent` get no answer at all (the client times out).
"""

import asyncio
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def answer(
    query: dns.message.Message,
    records: Mapping[str, tuple[str, ...]],
    rcodes: Mapping[str, str] | None = None,
) -> dns.message.Message:
    """The response to `query` from `records`: shared by the UDP and the DoH test servers."""
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    if rcodes and name in rcodes:
        response.set_rcode(dns.rcode.from_text(rcodes[name]))
        return response
    if name not in records:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response
    version = 4 if question.rdtype == dns.rdatatype.A else 6
    found = [a for a in records[name] if ipaddress.ip_address(a).version == version]
    if found:
        rdtype = dns.rdatatype.to_text(question.rdtype)
        response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, found))
    return response


@dataclass
class LocalDns(asyncio.DatagramProtocol):
    records: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rcodes: dict[str, str] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    host: str = "127.0.0.1"
    port: int = 0
    queries: list[str] = field(default_factory=list)
    _transport: asyncio.DatagramTransport | None = None

    @property
    def spec(self) -> str:
        return f"udp:{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        name = query.question[0].name.to_text(omit_final_dot=True).lower()
        self.queries.append(name)
        if name in self.silent or self._transport is None:
            return
        self._transport.sendto(answer(query, self.records, self.rcodes).to_wire(), addr)
