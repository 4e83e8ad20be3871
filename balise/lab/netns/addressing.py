"""The lab's address plan: namespaces, links, routes and service addresses of one scenario.

Pure data, no system calls. The namespaces form a tree rooted at the Internet core:

    core ─┬─ control vantage point
          └─ exchange (one per country; hosts the national site) ─ router (one per
             network; hosts the ISP's resolver and block page) ─ probe (one each)

Every link is a veth pair with a /31 from 198.51.100.0/24. Servers have /32 addresses
on the loopback of the namespace that hosts them: the Internet's from 203.0.113.0/24,
the national ones from 192.0.2.0/24. A namespace routes its subtree's addresses down
and the three documentation ranges up; only probes (whose gateway anchor needs one)
have a default route, and it points at their router. The core has no way up, so
nothing can leave the lab.
"""

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from balise.lab.netns.commands import LabError
from balise.lab.scenario import Scenario
from balise.model.catalog import Catalog

PREFIX = "bl"  # every lab namespace is named PREFIX + run id + "-" + role
RUN_ID_CHARS = 4

NATIONAL = IPv4Network("192.0.2.0/24")
LINKS = IPv4Network("198.51.100.0/24")
INTERNET = IPv4Network("203.0.113.0/24")
DOCUMENTATION = (NATIONAL, LINKS, INTERNET)

BROKER = IPv4Address("203.0.113.1")  # Mosquitto and the collector
AUTHORITATIVE_DNS = IPv4Address("203.0.113.53")  # also the control's and the independent resolver
INTERNATIONAL_ANCHORS: Mapping[str, IPv4Address] = {
    "intl-a": IPv4Address("203.0.113.200"),
    "intl-b": IPv4Address("203.0.113.201"),
}
# Anycast: every country's exchange hosts it, so each probe reaches its own country's site;
# the core hosts it too, as the control vantage point's "domestic" site.
DOMESTIC_SITE = IPv4Address("192.0.2.10")
BOGON = IPv4Address("10.10.34.34")  # what a censoring resolver answers in bogon mode
_FIRST_PLATFORM = 10
_LAST_PLATFORM = 49
_RESOLVERS = 64  # router n's resolver is 192.0.2.(64 + n), its block page 192.0.2.(128 + n)
_BLOCKPAGES = 128
MAX_NETWORKS = 64
MAX_LINKS = LINKS.num_addresses // 2

CONTROL_PROBE = "control-vp"  # the id sim mode gives it too

Role = Literal["core", "control", "exchange", "router", "probe"]


class PlanError(LabError):
    """The scenario does not fit in the lab's address plan."""


@dataclass(frozen=True, slots=True)
class Link:
    """A veth pair: `d<index>` in the parent, `uplink` in the child."""

    index: int
    parent: str
    child: str

    @property
    def parent_address(self) -> IPv4Address:
        return LINKS[2 * self.index]

    @property
    def child_address(self) -> IPv4Address:
        return LINKS[2 * self.index + 1]

    @property
    def network(self) -> IPv4Network:
        return IPv4Network(f"{self.parent_address}/31")

    @property
    def parent_if(self) -> str:
        return f"d{self.index}"

    child_if = "uplink"


@dataclass(frozen=True, slots=True)
class Node:
    ns: str
    role: Role
    label: str  # the country, network name or probe id it stands for; "" for the core
    uplink: Link | None  # None for the core
    local: tuple[IPv4Address, ...] = ()  # service addresses on its loopback

    @property
    def forwards(self) -> bool:
        return self.role in {"core", "exchange", "router"}


@dataclass(frozen=True, slots=True)
class Route:
    destination: str  # "default" or a prefix
    via: IPv4Address


@dataclass(frozen=True, slots=True)
class Platform:
    """A catalog target's servers in the lab: one address, every name of the target."""

    id: str
    title: str
    address: IPv4Address
    domain: str  # the name the probe measures over TLS
    names: tuple[str, ...]
    control: bool  # a control target, not a platform a censor blocks


@dataclass(frozen=True, slots=True)
class Plan:
    run_id: str
    nodes: tuple[Node, ...]
    platforms: tuple[Platform, ...]
    countries: tuple[str, ...]  # sorted; exchange i serves countries[i]
    networks: tuple[str, ...]  # scenario order; router i serves networks[i]
    probes: tuple[str, ...]  # scenario order, then the control vantage point when there is one
    _by_ns: Mapping[str, Node] = field(repr=False, compare=False)

    @property
    def core(self) -> str:
        return namespace(self.run_id, "core")

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(n.uplink for n in self.nodes if n.uplink is not None)

    def node(self, ns: str) -> Node:
        return self._by_ns[ns]

    def router(self, network: str) -> str:
        return namespace(self.run_id, f"r{self.networks.index(network)}")

    def exchange(self, country: str) -> str:
        return namespace(self.run_id, f"x{self.countries.index(country)}")

    def probe(self, probe_id: str) -> str:
        if probe_id == CONTROL_PROBE:
            return namespace(self.run_id, "ctl")
        return namespace(self.run_id, f"p{self.probes.index(probe_id)}")

    def resolver(self, network: str) -> IPv4Address:
        return NATIONAL[_RESOLVERS + self.networks.index(network)]

    def blockpage(self, network: str) -> IPv4Address:
        return NATIONAL[_BLOCKPAGES + self.networks.index(network)]

    def platform(self, platform_id: str) -> Platform:
        for platform in self.platforms:
            if platform.id == platform_id:
                return platform
        raise KeyError(platform_id)

    def children(self, ns: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.uplink is not None and n.uplink.parent == ns)

    def routes(self, ns: str) -> tuple[Route, ...]:
        node = self.node(ns)
        routes: list[Route] = []
        if node.uplink is not None:
            up = node.uplink.parent_address
            if node.role in {"probe", "control"}:
                routes.append(Route("default", up))
            else:
                routes.extend(Route(str(prefix), up) for prefix in DOCUMENTATION)
        for child in self.children(ns):
            assert child.uplink is not None
            via = child.uplink.child_address
            routes.extend(Route(str(prefix), via) for prefix in self._subtree_prefixes(child))
        return tuple(routes)

    def domestic_prefixes(self, country: str) -> tuple[IPv4Network, ...]:
        """The country's address space: its national site, its operators and subscribers."""
        exchange = self.node(self.exchange(country))
        return (IPv4Network(f"{DOMESTIC_SITE}/32"), *self._subtree_prefixes(exchange))

    def _subtree_prefixes(self, top: Node) -> list[IPv4Network]:
        """What lies below `top`, the link to `top` itself aside; anycast addresses aside."""
        prefixes: list[IPv4Network] = []
        pending = [top]
        while pending:
            node = pending.pop()
            prefixes.extend(IPv4Network(f"{a}/32") for a in node.local if a != DOMESTIC_SITE)
            for child in self.children(node.ns):
                assert child.uplink is not None
                prefixes.append(child.uplink.network)
                pending.append(child)
        return prefixes


def new_run_id() -> str:
    return secrets.token_hex(RUN_ID_CHARS // 2)


def namespace(run_id: str, role: str) -> str:
    return f"{PREFIX}{run_id}-{role}"


def platforms_of(catalog: Catalog) -> tuple[Platform, ...]:
    capacity = _LAST_PLATFORM - _FIRST_PLATFORM + 1
    if len(catalog.targets) > capacity:
        raise PlanError(f"the lab has room for {capacity} catalog targets, not more")
    return tuple(
        Platform(
            id=target.id,
            title=target.name or target.id,
            address=INTERNET[_FIRST_PLATFORM + i],
            domain=target.domain,
            names=tuple(dict.fromkeys(n for n in (target.domain, target.http_domain) if n)),
            control=target.kind == "control",
        )
        for i, target in enumerate(catalog.targets)
    )


def plan(scenario: Scenario, catalog: Catalog, run_id: str) -> Plan:
    if len(scenario.network) > MAX_NETWORKS:
        raise PlanError(f"the lab has room for {MAX_NETWORKS} networks, not more")
    if scenario.control and any(p.id == CONTROL_PROBE for p in scenario.probe):
        raise PlanError(f"probe id {CONTROL_PROBE!r} is the lab's control vantage point")
    countries = tuple(sorted({n.country for n in scenario.network}))
    networks = tuple(n.name for n in scenario.network)
    platforms = platforms_of(catalog)
    links: list[Link] = []

    def link(parent: str, child: str) -> Link:
        if len(links) == MAX_LINKS:
            raise PlanError(f"the lab has room for {MAX_LINKS} links; use fewer probes")
        links.append(Link(len(links), parent, child))
        return links[-1]

    core = namespace(run_id, "core")
    core_local = (
        BROKER,
        AUTHORITATIVE_DNS,
        *(p.address for p in platforms),
        *INTERNATIONAL_ANCHORS.values(),
        DOMESTIC_SITE,
    )
    nodes = [Node(core, "core", "", None, core_local)]
    if scenario.control:
        ctl = namespace(run_id, "ctl")
        nodes.append(Node(ctl, "control", CONTROL_PROBE, link(core, ctl)))
    for i, country in enumerate(countries):
        ns = namespace(run_id, f"x{i}")
        nodes.append(Node(ns, "exchange", country, link(core, ns), (DOMESTIC_SITE,)))
    for i, network in enumerate(scenario.network):
        ns = namespace(run_id, f"r{i}")
        parent = namespace(run_id, f"x{countries.index(network.country)}")
        local = (NATIONAL[_RESOLVERS + i], NATIONAL[_BLOCKPAGES + i])
        nodes.append(Node(ns, "router", network.name, link(parent, ns), local))
    for i, probe in enumerate(scenario.probe):
        ns = namespace(run_id, f"p{i}")
        parent = namespace(run_id, f"r{networks.index(probe.network)}")
        nodes.append(Node(ns, "probe", probe.id, link(parent, ns)))
    probes = tuple(p.id for p in scenario.probe) + ((CONTROL_PROBE,) if scenario.control else ())
    return Plan(
        run_id=run_id,
        nodes=tuple(nodes),
        platforms=platforms,
        countries=countries,
        networks=networks,
        probes=probes,
        _by_ns={n.ns: n for n in nodes},
    )


def platform_addresses(plan_: Plan, platform_ids: Sequence[str]) -> tuple[IPv4Address, ...]:
    """The servers of these platforms; every platform's (controls aside) when none is named."""
    if not platform_ids:
        return tuple(p.address for p in plan_.platforms if not p.control)
    return tuple(plan_.platform(p).address for p in platform_ids)
