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


def run_netns(
    scenarios: Sequence[Scenario], *, influx_url: str | None = None, influx_db: str = "balise"
) -> list[tuple[list[Event], float]]:
    """Run each scenario in its own lab; its events (scenario time) and its start time t0."""
    _check_environment()
    results = []
    for scenario in scenarios:
        run_dir = Path(tempfile.mkdtemp(prefix=f"balise-netns-{scenario.name}-"))
        try:
            results.append(_run_one(scenario, run_dir, influx_url=influx_url, influx_db=influx_db))
        except LabError as exc:  # the run directory stays: its logs say what went wrong
            raise LabEnvironmentError(
                f"netns lab failed for {scenario.name}: {exc} (logs in {run_dir})"
            ) from exc
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        shutil.rmtree(run_dir, ignore_errors=True)
    return results


def _check_environment() -> None:
    if os.geteuid() != 0:
        raise LabEnvironmentError("netns mode needs root (network namespaces, nftables)")
    missing = [tool for tool in TOOLS if _which(tool) is None]
    if missing:
        raise LabEnvironmentError(f"netns mode needs {', '.join(missing)} (not found)")


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin")


def _run_one(
    scenario: Scenario, run_dir: Path, *, influx_url: str | None, influx_db: str
) -> tuple[list[Event], float]:
    async def main() -> tuple[list[Event], float]:
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGTERM, task.cancel
            )  # Ctrl-C is asyncio.run's own
        return await run_scenario(scenario, run_dir, influx_url=influx_url, influx_db=influx_db)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None


@dataclass(frozen=True, slots=True)
class _Fleet:
    """Writes each probe's settings and gives the command that runs it."""

    scenario: Scenario
    scale: TimeScale
    run_dir: Path
    catalog: Path

    def argv(self, probe_id: str, clock_offset_s: float) -> list[str]:
        settings = configs.probe_settings(
            probe_id,
            self._network(probe_id),
            round_s=self.scenario.round_s,
            scale=self.scale,
            clock_offset_s=clock_offset_s,
            catalog=self.catalog,
            ca_file=self.run_dir / "pki" / "ca.pem",
            state_dir=self.run_dir / "probes" / probe_id,
        )
        path = self.run_dir / "config" / f"probe-{probe_id}-{clock_offset_s:g}.toml"
        write_toml(path, settings)
        return [sys.executable, "-m", "balise.cli", "probe", "run", "--config", str(path)]

    def _network(self, probe_id: str) -> Network:
        if probe_id == CONTROL_PROBE:
            return configs.CONTROL_NETWORK
        spec = next(p for p in self.scenario.probe if p.id == probe_id)
        return self.scenario.network_of(spec)


async def run_scenario(
    scenario: Scenario,
    run_dir: Path,
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
) -> tuple[list[Event], float]:
    scale = TimeScale.for_round(scenario.round_s)
    catalog = configs.lab_catalog(load_toml(BUILTIN_CATALOG, Catalog))
    catalog_path = write_toml(run_dir / "catalog.toml", catalog)
    fleet = _Fleet(scenario, scale, run_dir, catalog_path)
    collector = configs.collector_settings(
        round_s=scenario.round_s,
        scale=scale,
        catalog=catalog_path,
        state_dir=run_dir / "collector",
        influx_db=influx_db if influx_url else None,
    )
    lab = Lab(scenario, catalog=catalog, run_dir=run_dir, probe_launcher=fleet.argv)
    async with lab, contextlib.AsyncExitStack() as stack:
        core = lab.plan.core
        if influx_url:
            target = urlsplit(influx_url)
            await stack.enter_async_context(
                Relay(
                    core,
                    ("127.0.0.1", configs.INFLUX_RELAY_PORT),
                    (target.hostname or "127.0.0.1", target.port or 8086),
                )
            )
        await lab.processes.start(_mosquitto(core, run_dir))
        config = write_toml(run_dir / "config" / "collector.toml", collector)
        collector_argv = (sys.executable, "-m", "balise.cli", "collector", "run", "--config")
        http_host, http_port = collector.http.address()
        await lab.processes.start(
            Spec("collector", core, (*collector_argv, str(config)), ReadyPort(http_host, http_port))
        )
        async with asyncio.TaskGroup() as group:
            for probe in lab.plan.probes:
                group.create_task(lab.start_probe(probe), name=f"start:{probe}")
        t0, start = time.time(), asyncio.get_running_loop().time()
        await timeline.play(
            scenario.action,
            timeline.steps(scenario),
            Censor(lab),
            start=start,
            scale=scale.factor,
        )
        await asyncio.sleep(
            max(0.0, start + scale.real(scenario.duration_s) - asyncio.get_running_loop().time())
        )
        events = await _final_events(lab, collector, after=time.time())
    return [scale.event_in_scenario_time(e, t0) for e in events], t0


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
