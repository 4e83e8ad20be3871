"""One running lab: the topology of a scenario, its certificates and its servers.

    async with Lab(scenario, catalog=..., run_dir=...) as lab:
        ...  # the namespaces exist, every server answers

Leaving the block, by success, exception, timeout or cancellation (Ctrl-C), stops
every process and removes every namespace of the run.
"""

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from balise.lab.netns import shaping, topology
from balise.lab.netns.addressing import (
    AUTHORITATIVE_DNS,
    BOGON,
    DOMESTIC_SITE,
    INTERNATIONAL_ANCHORS,
    Link,
    Plan,
    new_run_id,
    plan,
)
from balise.lab.netns.authdns import AuthSettings
from balise.lab.netns.cleanup import remove_run
from balise.lab.netns.ispdns import IspDnsSettings
from balise.lab.netns.pki import Pki, make_pki
from balise.lab.netns.processes import Processes, ReadyLine, Spec, argv_of
from balise.lab.netns.site import SiteSettings
from balise.lab.netns.tomlfile import write_toml
from balise.lab.scenario import Scenario
from balise.model.catalog import Catalog
from balise.model.layers import Access

# argv of a probe process, given its id and its wall-clock offset
ProbeLauncher = Callable[[str, float], Sequence[str]]

_ANCHORS_SITE = "anchors"
_NATIONAL_SITE = "national"


class Lab:
    def __init__(
        self,
        scenario: Scenario,
        *,
        catalog: Catalog,
        run_dir: Path,
        run_id: str | None = None,
        probe_launcher: ProbeLauncher | None = None,
    ) -> None:
        self.scenario = scenario
        self.plan: Plan = plan(scenario, catalog, run_id or new_run_id())
        self.run_dir = run_dir
        self.processes = Processes(run_dir / "logs")
        self.probe_launcher = probe_launcher
        self._pki: Pki | None = None

    @property
    def pki(self) -> Pki:
        if self._pki is None:
            raise RuntimeError("the lab is not started")
        return self._pki

    async def __aenter__(self) -> Self:
        try:
            await self.processes.__aenter__()
            await topology.build(self.plan)
            for node in self.plan.nodes:
                if lines := self.lines(node.ns):
                    await shaping.shape(node.ns, lines, ())
            self._pki = make_pki(self.run_dir / "pki", self._site_names())
            async with asyncio.TaskGroup() as group:
                for spec in self._server_specs():
                    group.create_task(self.processes.start(spec), name=f"start:{spec.name}")
        except BaseException:
            await self._teardown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._teardown()

    async def _teardown(self) -> None:
        try:
            await self.processes.stop_all()
        finally:
            remove_run(self.plan.run_id)

    # -- what actions and the runner drive

    def lines(self, ns: str) -> list[shaping.Line]:
        """The interfaces of a namespace that shaping knows: subscriber lines, uplinks."""
        node = self.plan.node(ns)
        if node.role == "router":
            access = next(n.access for n in self.scenario.network if n.name == node.label)
            rate = shaping.ACCESS_KBPS[access]
            return [
                shaping.Line(Link.child_if, "dst"),
                *(
                    shaping.Line(child.uplink.parent_if, "src", rate)
                    for child in self.plan.children(ns)
                    if child.uplink is not None
                ),
            ]
        if node.role == "core":
            return [
                shaping.Line(child.uplink.parent_if, "src", shaping.ACCESS_KBPS[Access.FIXED])
                for child in self.plan.children(ns)
                if child.role == "control" and child.uplink is not None
            ]
        return []

    def policy_path(self, network: str) -> Path:
        return self.run_dir / "policy" / f"{self.plan.networks.index(network)}.json"

    def _platform_spec(self, platform_id: str) -> Spec:
        platform = self.plan.platform(platform_id)
        settings = SiteSettings(
            title=platform.title,
            addresses=(str(platform.address),),
            pem=str(self.pki.sites[platform.id]),
        )
        return self._site(_platform(platform.id), self.plan.core, settings)

    def _probe_spec(self, probe_id: str, clock_offset_s: float = 0.0) -> Spec:
        if self.probe_launcher is None:
            raise RuntimeError("this lab was made without a probe launcher")
        return Spec(
            _probe(probe_id),
            self.plan.probe(probe_id),
            tuple(self.probe_launcher(probe_id, clock_offset_s)),
        )

    async def start_probe(self, probe_id: str, clock_offset_s: float = 0.0) -> None:
        await self.processes.start(self._probe_spec(probe_id, clock_offset_s))

    async def stop_probe(self, probe_id: str) -> None:
        await self.processes.stop(_probe(probe_id))

    async def kill_probe(self, probe_id: str) -> None:
        """The power cut: SIGKILL, no goodbye."""
        await self.processes.kill(_probe(probe_id))

    async def start_platform(self, platform_id: str) -> None:
        await self.processes.start(self._platform_spec(platform_id))

    async def kill_platform(self, platform_id: str) -> None:
        await self.processes.kill(_platform(platform_id))

    # -- the servers

    def _site_names(self) -> Mapping[str, Sequence[str]]:
        names: dict[str, Sequence[str]] = {p.id: p.names for p in self.plan.platforms}
        names[_ANCHORS_SITE] = [str(a) for a in (*INTERNATIONAL_ANCHORS.values(), DOMESTIC_SITE)]
        names[_NATIONAL_SITE] = [str(DOMESTIC_SITE)]
        return names

    def _server_specs(self) -> list[Spec]:
        core = self.plan.core
        records = {name: str(p.address) for p in self.plan.platforms for name in p.names}
        auth = AuthSettings(address=str(AUTHORITATIVE_DNS), records=records)
        auth_argv = argv_of("balise.lab.netns.authdns", self._write("dns:auth", auth))
        specs = [Spec("dns:auth", core, auth_argv, ReadyLine())]
        specs += [self._platform_spec(p.id) for p in self.plan.platforms]
        anchors = SiteSettings(
            title="International anchor",
            addresses=tuple(str(a) for a in (*INTERNATIONAL_ANCHORS.values(), DOMESTIC_SITE)),
            pem=str(self.pki.sites[_ANCHORS_SITE]),
        )
        specs.append(self._site("anchors", core, anchors))
        for country in self.plan.countries:
            national = SiteSettings(
                title=f"National portal of {country}",
                addresses=(str(DOMESTIC_SITE),),
                pem=str(self.pki.sites[_NATIONAL_SITE]),
            )
            specs.append(self._site(f"national:{country}", self.plan.exchange(country), national))
        for network in self.plan.networks:
            router = self.plan.router(network)
            resolver = IspDnsSettings(
                address=str(self.plan.resolver(network)),
                upstream=str(AUTHORITATIVE_DNS),
                policy=str(self.policy_path(network)),
                blockpage_address=str(self.plan.blockpage(network)),
                bogon_address=str(BOGON),
            )
            config = self._write(f"resolver:{network}", resolver)
            specs.append(
                Spec(
                    f"resolver:{network}",
                    router,
                    argv_of("balise.lab.netns.ispdns", config),
                    ReadyLine(),
                )
            )
            blockpage = SiteSettings(
                title="Access denied",
                addresses=(str(self.plan.blockpage(network)),),
                pem=str(self.pki.censor),
                blockpage=True,
            )
            specs.append(self._site(f"blockpage:{network}", router, blockpage))
        return specs

    def _site(self, name: str, ns: str, settings: SiteSettings) -> Spec:
        config = self._write(name, settings)
        return Spec(name, ns, argv_of("balise.lab.netns.site", config), ReadyLine())

    def _write(self, name: str, settings: msgspec.Struct) -> Path:
        return write_toml(self.run_dir / "config" / f"{_file_name(name)}.toml", settings)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def _probe(probe_id: str) -> str:
    return f"probe:{probe_id}"


def _platform(platform_id: str) -> str:
    return f"platform:{platform_id}"
