"""An ISP's resolver: forwards to the lab's authoritative DNS, and lies as told.

Run as `python -m balise.lab.netns.ispdns SETTINGS.toml` in a router namespace.
The censorship policy is a JSON file (`DnsPolicy`) that the lab replaces
atomically; the resolver rereads it whenever it changed, before answering.

Why our own and not dnsmasq or unbound: the policy changes several times a
scenario; dnsmasq rereads `address=` rules only on restart (losing in-flight
queries), unbound needs its remote-control channel and keys for the same. Both
would add a system dependency; this is a hundred lines on dnspython, which the
probe already uses.
"""

import asyncio
import logging
import sys
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import msgspec

from balise.config import ConfigError, load_toml
from balise.lab.netns.dnsserver import serve_udp

log = logging.getLogger(__name__)

TTL = 5
UPSTREAM_TIMEOUT_S = 2.0


class DnsPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Names (and their subdomains) the resolver lies about, by how."""

    nxdomain: tuple[str, ...] = ()
    bogon: tuple[str, ...] = ()
    blockpage: tuple[str, ...] = ()


class IspDnsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    address: str
    port: int = 53
    upstream: str
    policy: str  # the DnsPolicy file; absent: no censorship
    blockpage_address: str
    bogon_address: str


class Resolver:
    def __init__(self, settings: IspDnsSettings) -> None:
        self.settings = settings
        self._policy_path = Path(settings.policy)
        self._policy_stamp: tuple[int, int] | None = None
        self._lies: dict[dns.name.Name, str] = {}  # name -> "nxdomain" | an address

    def _reload(self) -> None:
        try:
            stat = self._policy_path.stat()
        except FileNotFoundError:
            self._policy_stamp, self._lies = None, {}
            return
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp == self._policy_stamp:
            return
        try:
            policy = msgspec.json.decode(self._policy_path.read_bytes(), type=DnsPolicy)
        except (OSError, msgspec.DecodeError) as exc:
            log.warning("keeping the previous policy: %s: %s", self._policy_path, exc)
            return
        lies: dict[dns.name.Name, str] = {}
        for names, lie in (
            (policy.nxdomain, "nxdomain"),
            (policy.bogon, self.settings.bogon_address),
            (policy.blockpage, self.settings.blockpage_address),
        ):
            lies |= {dns.name.from_text(n).canonicalize(): lie for n in names}
        self._policy_stamp, self._lies = stamp, lies

    def _lie_for(self, name: dns.name.Name) -> str | None:
        name = name.canonicalize()
        while len(name) > 1:
            if name in self._lies:
                return self._lies[name]
            name = name.parent()
        return None

    async def answer(self, query: dns.message.Message) -> dns.message.Message:
        self._reload()
        lie = self._lie_for(query.question[0].name) if len(query.question) == 1 else None
        if lie is not None:
            return _lie(query, lie)
        try:
            return await dns.asyncquery.udp(
                query, self.settings.upstream, timeout=UPSTREAM_TIMEOUT_S
            )
        except (dns.exception.DNSException, OSError):
            response = dns.message.make_response(query, recursion_available=True)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response


def _lie(query: dns.message.Message, lie: str) -> dns.message.Message:
    response = dns.message.make_response(query, recursion_available=True)
    question = query.question[0]
    if lie == "nxdomain":
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype == dns.rdatatype.A:
        response.answer.append(
            dns.rrset.from_text(question.name, TTL, dns.rdataclass.IN, dns.rdatatype.A, lie)
        )
    return response


def main(argv: list[str]) -> int:
    try:
        settings = load_toml(Path(argv[1]), IspDnsSettings)
        resolver = Resolver(settings)
        asyncio.run(serve_udp(settings.address, settings.port, resolver.answer))
    except (ConfigError, OSError, IndexError) as exc:
        sys.stderr.write(f"ispdns: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
