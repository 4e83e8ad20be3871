"""A scenario's actions, done to a running lab with the kernel's own tools.

Censorship happens on the ISP routers, the way ISPs do it: nftables for IP, SNI and
HTTP blocking, shutdowns and loss (one table per action, see nftrules); tc for
throttling (shaping); the ISP's resolver for DNS blocking. Probe power cuts, clock
skew and platform outages act on processes. The control vantage point hangs off
the core, past every router: only `platform_down` reaches it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

import msgspec

from balise.lab.netns import nftrules, shaping
from balise.lab.netns.addressing import platform_addresses
from balise.lab.netns.commands import nft
from balise.lab.netns.ispdns import DnsPolicy
from balise.lab.netns.lab import Lab
from balise.lab.scenario import (
    Action,
    BlockDns,
    BlockIp,
    BlockpageHttp,
    BlockSni,
    ClockSkew,
    Loss,
    PlatformDown,
    ProbeDown,
    Shutdown,
    Throttle,
)


@dataclass
class Censor:
    """Applies actions to `lab` and takes them back; `index` identifies an action.

    `time_factor` is the lab's real seconds per scenario second (configs.TimeScale).
    A throttle's rate is divided by it: a lab compressing time 1/factor-fold moves a
    scenario second's bytes in `factor` real seconds, so the probes' rounds, timeouts
    and throughput tests see the same share of the line as in the scenario.
    """

    lab: Lab
    time_factor: float = 1.0
    _dns: dict[str, dict[int, BlockDns]] = field(default_factory=dict)  # network -> actions
    _throttles: dict[str, dict[int, shaping.Throttle]] = field(default_factory=dict)  # router
    _tables: dict[int, list[str]] = field(default_factory=dict)  # action -> routers
    _offsets: dict[str, float] = field(default_factory=dict)  # probe -> clock offset
    _down: set[str] = field(default_factory=set)  # probes without power

    async def apply(self, index: int, action: Action) -> None:
        match action:
            case BlockDns():
                self._dns_policy(index, action, active=True)
            case BlockIp() | BlockSni() | BlockpageHttp() | Loss() | Shutdown():
                await self._add_tables(index, action)
            case Throttle():
                await self._throttle(index, action, active=True)
            case ProbeDown():
                await self._power(action, on=False)
            case ClockSkew():
                await self._skew(action, action.offset_s)
            case PlatformDown():
                await self._platforms(action, up=False)

    async def remove(self, index: int, action: Action) -> None:
        match action:
            case BlockDns():
                self._dns_policy(index, action, active=False)
            case BlockIp() | BlockSni() | BlockpageHttp() | Loss() | Shutdown():
                for router in self._tables.pop(index, []):
                    await nft(router, f"delete table inet {nftrules.table_name(index)}")
            case Throttle():
                await self._throttle(index, action, active=False)
            case ProbeDown():
                await self._power(action, on=True)
            case ClockSkew():
                await self._skew(action, None)
            case PlatformDown():
                await self._platforms(action, up=True)

    # -- each kind

    def _dns_policy(self, index: int, action: BlockDns, *, active: bool) -> None:
        for network in self._networks(action):
            actions = self._dns.setdefault(network, {})
            if active:
                actions[index] = action
            else:
                actions.pop(index, None)
            self._write_policy(network)

    async def _add_tables(
        self, index: int, action: BlockIp | BlockSni | BlockpageHttp | Loss | Shutdown
    ) -> None:
        for network in self._networks(action):
            router = self.lab.plan.router(network)
            await nft(router, self._nft_script(index, action, network))
            self._tables.setdefault(index, []).append(router)

    async def _throttle(self, index: int, action: Throttle, *, active: bool) -> None:
        addresses = self._addresses(action.platforms) if action.platforms else ()
        for router in self._routers(action):
            throttles = self._throttles.setdefault(router, {})
            if active:
                rate = action.rate_kbps / self.time_factor
                throttles[index] = shaping.Throttle(rate, addresses)
            else:
                throttles.pop(index, None)
            await self._shape(router)

    async def _power(self, action: ProbeDown, *, on: bool) -> None:
        for probe in self._probes(action):
            if on:
                self._down.discard(probe)
                await self.lab.start_probe(probe, self._offsets.get(probe, 0.0))
            else:
                self._down.add(probe)
                await self.lab.kill_probe(probe)

    async def _skew(self, action: ClockSkew, offset_s: float | None) -> None:
        for probe in self._probes(action):
            if offset_s is None:
                self._offsets.pop(probe, None)
            else:
                self._offsets[probe] = offset_s
            if probe not in self._down:  # else it comes back with the right clock with power
                await self.lab.stop_probe(probe)
                await self.lab.start_probe(probe, self._offsets.get(probe, 0.0))

    async def _platforms(self, action: PlatformDown, *, up: bool) -> None:
        for platform in self._platform_ids(action.platforms):
            if up:
                await self.lab.start_platform(platform)
            else:
                await self.lab.kill_platform(platform)

    def _nft_script(
        self, index: int, action: BlockIp | BlockSni | BlockpageHttp | Loss | Shutdown, network: str
    ) -> str:
        match action:
            case BlockIp():
                return nftrules.block_ip(index, self._addresses(action.platforms), action.mode)
            case BlockSni():
                return nftrules.block_sni(index, self._names(action.platforms), action.mode)
            case BlockpageHttp():
                blockpage = self.lab.plan.blockpage(network)
                return nftrules.blockpage_http(index, self._addresses(action.platforms), blockpage)
            case Loss():
                return nftrules.loss(index, action.percent)
            case Shutdown(mode="full"):
                return nftrules.shutdown_full(index)
            case Shutdown():
                domestic = self.lab.plan.domestic_prefixes(self._country(network))
                return nftrules.shutdown_international(index, domestic)

    # -- where an action applies

    def _networks(self, action: Action) -> list[str]:
        return [n.name for n in self.lab.scenario.networks_of(action)]

    def _routers(self, action: Action) -> list[str]:
        return [self.lab.plan.router(n) for n in self._networks(action)]

    def _country(self, network: str) -> str:
        return next(n.country for n in self.lab.scenario.network if n.name == network)

    def _probes(self, action: ProbeDown | ClockSkew) -> list[str]:
        if action.probes:
            return list(action.probes)
        networks = set(self._networks(action))
        return [p.id for p in self.lab.scenario.probe if p.network in networks]

    def _platform_ids(self, platforms: Sequence[str]) -> list[str]:
        """The named platforms; every platform (the controls aside) when none is named."""
        if platforms:
            return list(platforms)
        return [p.id for p in self.lab.plan.platforms if not p.control]

    def _addresses(self, platforms: Sequence[str]) -> tuple[IPv4Address, ...]:
        return platform_addresses(self.lab.plan, platforms)

    def _names(self, platforms: Sequence[str]) -> tuple[str, ...]:
        return tuple(
            name for p in self._platform_ids(platforms) for name in self.lab.plan.platform(p).names
        )

    # -- how

    def _write_policy(self, network: str) -> None:
        by_mode: dict[str, list[str]] = {"nxdomain": [], "bogon": [], "blockpage": []}
        for action in self._dns.get(network, {}).values():
            by_mode[action.mode] += self._names(action.platforms)
        path = self.lab.policy_path(network)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".new")
        staging.write_bytes(
            msgspec.json.encode(DnsPolicy(**{k: tuple(v) for k, v in by_mode.items()}))
        )
        staging.replace(path)  # atomic: the resolver never reads half a policy

    async def _shape(self, router: str) -> None:
        throttles = list(self._throttles.get(router, {}).values())
        await shaping.shape(router, self.lab.lines(router), throttles)
