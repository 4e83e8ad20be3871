"""The lab Internet's DNS: authoritative for every platform name, and the resolver of
the control vantage point and of the probes' independent checks.

Run as `python -m balise.lab.netns.authdns SETTINGS.toml` in the core namespace.
"""

import asyncio
import sys
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import msgspec

from balise.config import ConfigError, load_toml
from balise.lab.netns.dnsserver import serve_udp

TTL = 5  # short: the lab's answers change with the scenario's timeline


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    address: str
    port: int = 53
    records: dict[str, str]  # name -> IPv4 address


class Authority:
    def __init__(self, records: dict[str, str]) -> None:
        self.records = {dns.name.from_text(k).canonicalize(): v for k, v in records.items()}

    async def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query, recursion_available=True)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        address = self.records.get(question.name.canonicalize())
        if address is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            response.answer.append(
                dns.rrset.from_text(question.name, TTL, dns.rdataclass.IN, dns.rdatatype.A, address)
            )
        return response  # another type of a known name: NOERROR, no answer


def main(argv: list[str]) -> int:
    try:
        settings = load_toml(Path(argv[1]), AuthSettings)
        server = Authority(settings.records)
        asyncio.run(serve_udp(settings.address, settings.port, server.answer))
    except (ConfigError, OSError, IndexError) as exc:
        sys.stderr.write(f"authdns: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
