"""`balise lab run --mode netns`: each scenario in a lab of its own, with the real
programs: `balise probe run` in every probe namespace, Mosquitto and
`balise collector run` in the Internet, the timeline applied by nftables, tc and
process control, in compressed time (configs.TimeScale).

The events are read from the collector's detector state once the scenario is over,
and stretched back to scenario seconds for the scorecard.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from balise.config import load_toml
from balise.lab.netns import configs, timeline
from balise.lab.netns.actions import Censor
from balise.lab.netns.addressing import BROKER, CONTROL_PROBE
from balise.lab.netns.commands import LabError
from balise.lab.netns.configs import TimeScale
from balise.lab.netns.lab import Lab
from balise.lab.netns.processes import ReadyPort, Spec
from balise.lab.netns.relay import Relay
from balise.lab.netns.tomlfile import write_toml
from balise.lab.runner import LabEnvironmentError
from balise.lab.scenario import Network, Scenario
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from balise.model.events import Event
from collector.detection.detector import Detector
from collector.service import DETECTOR_STATE
from collector.settings import CollectorSettings

TOOLS = ("ip", "nft", "tc", "sysctl", "mosquitto")
_STATE_WAIT_S = 10.0
_START_BUDGET_S = 120.0  # namespaces, servers, broker, collector and probes up


def run_netns(
    scenarios: Sequence[Scenario],
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
    parallel: int = 1,
) -> list[tuple[list[Event], float]]:
    """Run each scenario in its own lab; its events (scenario time) and its start time t0.

    `parallel` labs run at once (each has its own namespaces, broker and collector);
    the results come in the order of `scenarios`.
    """
    _check_environment()
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel}")

    async def main() -> list[tuple[list[Event], float]]:
        task = asyncio.current_task()
        if task is not None:  # Ctrl-C is asyncio.run's own
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        gate = asyncio.Semaphore(parallel)

        async def one(scenario: Scenario) -> tuple[list[Event], float]:
            async with gate:
                return await _run_in_own_dir(scenario, influx_url=influx_url, influx_db=influx_db)

        try:
            async with asyncio.TaskGroup() as group:
                runs = [group.create_task(one(s), name=f"scenario:{s.name}") for s in scenarios]
        except* LabEnvironmentError as failed:
            raise failed.exceptions[0] from None
        return [run.result() for run in runs]

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None


async def _run_in_own_dir(
    scenario: Scenario, *, influx_url: str | None, influx_db: str
) -> tuple[list[Event], float]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"balise-netns-{scenario.name}-"))
    try:
        result = await run_scenario(scenario, run_dir, influx_url=influx_url, influx_db=influx_db)
    except LabError as exc:  # the run directory stays: its logs say what went wrong
        raise LabEnvironmentError(
            f"netns lab failed for {scenario.name}: {exc} (logs in {run_dir})"
        ) from exc
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _check_environment() -> None:
    if os.geteuid() != 0:
        raise LabEnvironmentError("netns mode needs root (network namespaces, nftables)")
    missing = [tool for tool in TOOLS if _which(tool) is None]
    if missing:
        raise LabEnvironmentError(f"netns mode needs {', '.join(missing)} (not found)")


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin")


@dataclass(frozen=True, slots=True)
class _Fleet:
    """Writes each probe's settings and gives the command that runs it."""

    lab: Lab
    scale: TimeScale
    catalog: Path

    def argv(self, probe_id: str, clock_offset_s: float) -> list[str]:
        """`clock_offset_s` in scenario seconds; the probe's clock is off by as many
        compressed seconds, so the collector sees the offset the scenario gives once its
        times are stretched back."""
        settings = configs.probe_settings(
            probe_id,
            self._network(probe_id),
            round_s=self.lab.scenario.round_s,
            scale=self.scale,
            clock_offset_s=self.scale.real(clock_offset_s),
            catalog=self.catalog,
            ca_file=self.lab.pki.ca_file,
            state_dir=self.lab.run_dir / "probes" / probe_id,
        )
        path = self.lab.run_dir / "config" / f"probe-{probe_id}-{clock_offset_s:g}.toml"
        write_toml(path, settings)
        return [sys.executable, "-m", "balise.cli", "probe", "run", "--config", str(path)]

    def _network(self, probe_id: str) -> Network:
        if probe_id == CONTROL_PROBE:
            return configs.CONTROL_NETWORK
        scenario = self.lab.scenario
        return scenario.network_of(next(p for p in scenario.probe if p.id == probe_id))


async def run_scenario(
    scenario: Scenario,
    run_dir: Path,
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
) -> tuple[list[Event], float]:
    """One scenario in its own lab; its events in scenario time, and its start t0."""
    scale = TimeScale.for_round(scenario.round_s)
    catalog = configs.lab_catalog(load_toml(BUILTIN_CATALOG, Catalog))
    catalog_path = write_toml(run_dir / "catalog.toml", catalog)
    collector = configs.collector_settings(
        round_s=scenario.round_s,
        scale=scale,
        catalog=catalog_path,
        state_dir=run_dir / "collector",
        influx_db=influx_db if influx_url else None,
    )
    lab = Lab(scenario, catalog=catalog, run_dir=run_dir)
    lab.probe_launcher = _Fleet(lab, scale, catalog_path).argv
    budget = _START_BUDGET_S + scale.real(scenario.duration_s) + _STATE_WAIT_S
    try:
        async with asyncio.timeout(budget), lab, contextlib.AsyncExitStack() as stack:
            if influx_url:
                await stack.enter_async_context(_influx_relay(lab.plan.core, influx_url))
            await _start_services(lab, collector)
            t0, start = time.time(), asyncio.get_running_loop().time()
            schedule = timeline.steps(scenario)
            await timeline.play(
                scenario.action,
                schedule,
                Censor(lab, time_factor=scale.factor),
                start=start,
                scale=scale.factor,
            )
            end = start + scale.real(scenario.duration_s)
            await asyncio.sleep(max(0.0, end - asyncio.get_running_loop().time()))
            events = await _final_events(lab, collector, after=time.time())
    except TimeoutError:
        raise LabError(f"the run took longer than {budget:.0f}s") from None
    return [scale.event_in_scenario_time(e, t0) for e in events], t0


async def _start_services(lab: Lab, collector: CollectorSettings) -> None:
    """Mosquitto and the collector in the Internet, then every probe at once."""
    core = lab.plan.core
    await lab.processes.start(_mosquitto(core, lab.run_dir))
    config = write_toml(lab.run_dir / "config" / "collector.toml", collector)
    argv = (sys.executable, "-m", "balise.cli", "collector", "run", "--config", str(config))
    await lab.processes.start(Spec("collector", core, argv, ReadyPort(*collector.http.address())))
    async with asyncio.TaskGroup() as group:
        for probe in lab.plan.probes:
            group.create_task(lab.start_probe(probe), name=f"start:{probe}")


def _influx_relay(core: str, influx_url: str) -> Relay:
    target = urlsplit(influx_url)
    return Relay(
        core,
        ("127.0.0.1", configs.INFLUX_RELAY_PORT),
        (target.hostname or "127.0.0.1", target.port or 8086),
    )


def _mosquitto(ns: str, run_dir: Path) -> Spec:
    directory = run_dir / "mosquitto"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(configs.mosquitto_conf(directory), encoding="utf-8")
    binary = _which("mosquitto") or "mosquitto"
    return Spec(
        "mosquitto", ns, (binary, "-c", str(conf)), ReadyPort(str(BROKER), configs.BROKER_PORT)
    )


async def _final_events(lab: Lab, settings: CollectorSettings, *, after: float) -> list[Event]:
    """The detector's events from the first state the collector saved after `after`.

    Every process must still be running then: one that died (or that something else
    killed) makes the run meaningless.
    """
    path = Path(settings.state_dir) / DETECTOR_STATE
    deadline = time.monotonic() + _STATE_WAIT_S
    while not (path.exists() and path.stat().st_mtime > after):
        if time.monotonic() > deadline:
            raise LabError(
                f"the collector saved no detector state in {path} after the scenario; "
                f"ended processes: {lab.processes.exited() or 'none'}"
            )
        await asyncio.sleep(0.1)
    if exited := lab.processes.exited():
        raise LabError(f"lab processes ended during the run (exit status): {exited}")
    return Detector.restore(path.read_bytes(), settings.detection).events()
