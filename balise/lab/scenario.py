"""Scenario files, format 1 (../shared/scenario-format.md), decoded and checked.

Anything wrong stops the runner before it starts: `ScenarioError` names the
file and the offending key.
"""

from pathlib import Path
from typing import Literal

import msgspec

from balise.config import ConfigError, decode_toml
from balise.model.catalog import PLATFORM_IDS
from balise.model.events import EventKind
from balise.model.layers import Access


class ScenarioError(ConfigError):
    """An invalid scenario file; the message names the file and the key."""


class _Strict(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    pass


class Network(_Strict, kw_only=True, frozen=True):
    name: str
    asn: int
    country: str
    region: str = ""
    access: Access = Access.FIXED


class ProbeSpec(_Strict, kw_only=True, frozen=True):
    id: str
    network: str


class _ActionBase(_Strict, tag_field="kind", kw_only=True, frozen=True):
    at_s: float
    until_s: float | None = None
    networks: tuple[str, ...] | None = None  # None: every network


class _ServiceAction(_ActionBase, kw_only=True, frozen=True):
    platforms: tuple[str, ...] = ()


class BlockDns(_ServiceAction, tag="block_dns", kw_only=True, frozen=True):
    mode: Literal["nxdomain", "bogon", "blockpage"]


class BlockIp(_ServiceAction, tag="block_ip", kw_only=True, frozen=True):
    mode: Literal["drop", "reject"]


class BlockSni(_ServiceAction, tag="block_sni", kw_only=True, frozen=True):
    mode: Literal["reset", "drop"]


class BlockpageHttp(_ServiceAction, tag="blockpage_http", kw_only=True, frozen=True):
    pass


class Throttle(_ServiceAction, tag="throttle", kw_only=True, frozen=True):
    rate_kbps: float  # platforms empty: all traffic


class Shutdown(_ActionBase, tag="shutdown", kw_only=True, frozen=True):
    mode: Literal["full", "international"]


class Loss(_ActionBase, tag="loss", kw_only=True, frozen=True):
    percent: float


class ProbeDown(_ActionBase, tag="probe_down", kw_only=True, frozen=True):
    probes: tuple[str, ...] = ()


class ClockSkew(_ActionBase, tag="clock_skew", kw_only=True, frozen=True):
    probes: tuple[str, ...] = ()
    offset_s: float


class PlatformDown(_ActionBase, tag="platform_down", kw_only=True, frozen=True):
    platforms: tuple[str, ...] = ()


Action = (
    BlockDns
    | BlockIp
    | BlockSni
    | BlockpageHttp
    | Throttle
    | Shutdown
    | Loss
    | ProbeDown
    | ClockSkew
    | PlatformDown
)
SERVICE_ACTIONS = (BlockDns, BlockIp, BlockSni, BlockpageHttp, Throttle, PlatformDown)


class ExpectScope(_Strict, kw_only=True, frozen=True):
    country: str | None = None
    region: str | None = None
    asn: int | None = None
    access: Access | None = None
    probe: str | None = None


class Expect(_Strict, kw_only=True, frozen=True):
    kind: EventKind
    platform: str | None = None
    method: str | None = None
    scope: ExpectScope = ExpectScope()
    start_s: float
    end_s: float | None = None
    tolerance_s: float | None = None


class Scenario(_Strict, kw_only=True, frozen=True):
    format: Literal[1]
    name: str
    description: str = ""
    round_s: float
    duration_s: float
    control: bool = True
    seed: int = 0
    network: tuple[Network, ...] = ()
    probe: tuple[ProbeSpec, ...] = ()
    action: tuple[Action, ...] = ()
    expect: tuple[Expect, ...] = ()

    def tolerance(self, expect: Expect) -> float:
        return expect.tolerance_s if expect.tolerance_s is not None else 2 * self.round_s + 5

    def networks_of(self, action: Action) -> tuple[Network, ...]:
        if action.networks is None:
            return self.network
        wanted = set(action.networks)
        return tuple(n for n in self.network if n.name in wanted)

    def network_of(self, probe: ProbeSpec) -> Network:
        return next(n for n in self.network if n.name == probe.network)


METHODS: dict[EventKind, frozenset[str]] = {
    EventKind.SERVICE_BLOCK: frozenset({"dns", "tcp_ip", "tls", "http"}),
    EventKind.NETWORK_SHUTDOWN: frozenset({"full", "international"}),
}


def load(path: Path) -> Scenario:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse(raw, source=str(path))


def parse(raw: bytes | str, *, source: str) -> Scenario:
    try:
        scenario = decode_toml(raw, Scenario, source=source)
    except ConfigError as exc:
        raise ScenarioError(str(exc)) from exc
    problem = _check(scenario)
    if problem:
        key, message = problem
        raise ScenarioError(f"{source}: field {key}: {message}")
    return scenario


def _check(s: Scenario) -> tuple[str, str] | None:  # noqa: C901, PLR0911, PLR0912 - one rule a line
    if s.round_s <= 0:
        return "round_s", "must be > 0"
    if s.duration_s <= 0:
        return "duration_s", "must be > 0"
    networks = {n.name for n in s.network}
    probes = {p.id for p in s.probe}
    if dup := _duplicate([n.name for n in s.network]):
        return "network.name", f"duplicate name {dup!r}"
    if dup := _duplicate([p.id for p in s.probe]):
        return "probe.id", f"duplicate id {dup!r}"
    for i, n in enumerate(s.network):
        if len(n.country) != 2 or not n.country.isupper():  # noqa: PLR2004 - ISO alpha-2
            return f"network[{i}].country", f"{n.country!r} is not an ISO 3166-1 alpha-2 code"
    for i, p in enumerate(s.probe):
        if p.network not in networks:
            return f"probe[{i}].network", f"unknown network {p.network!r}"
    for i, a in enumerate(s.action):
        where = f"action[{i}]"
        if not 0 <= a.at_s <= s.duration_s:
            return f"{where}.at_s", f"{a.at_s} is outside [0, {s.duration_s}]"
        if a.until_s is not None and not a.at_s <= a.until_s <= s.duration_s:
            return f"{where}.until_s", f"{a.until_s} is outside [{a.at_s}, {s.duration_s}]"
        for name in a.networks or ():
            if name not in networks:
                return f"{where}.networks", f"unknown network {name!r}"
        for platform in getattr(a, "platforms", ()):
            if platform not in PLATFORM_IDS:
                return f"{where}.platforms", f"unknown platform id {platform!r}"
        for probe in getattr(a, "probes", ()):
            if probe not in probes:
                return f"{where}.probes", f"unknown probe id {probe!r}"
    for i, e in enumerate(s.expect):
        where = f"expect[{i}]"
        if e.platform is not None and e.platform not in PLATFORM_IDS:
            return f"{where}.platform", f"unknown platform id {e.platform!r}"
        allowed = METHODS.get(e.kind)
        if e.method is not None and (allowed is None or e.method not in allowed):
            return f"{where}.method", f"{e.method!r} is not a method of {e.kind.value}"
        if not 0 <= e.start_s <= s.duration_s:
            return f"{where}.start_s", f"{e.start_s} is outside [0, {s.duration_s}]"
        if e.end_s is not None and not e.start_s <= e.end_s <= s.duration_s:
            return f"{where}.end_s", f"{e.end_s} is outside [{e.start_s}, {s.duration_s}]"
        if e.scope.probe is not None and e.scope.probe not in probes:
            return f"{where}.scope.probe", f"unknown probe id {e.scope.probe!r}"
    return None


def _duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None
