"""Entry points of `balise probe run` and `balise probe check`."""

import asyncio
import signal
import time
from pathlib import Path

from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from probe import identity
from probe import settings as probe_settings
from probe.backend import NetworkBackend
from probe.check import render_check
from probe.measure_settings import MeasureSettings
from probe.round import measure_round
from probe.sdnotify import SystemdNotifier
from probe.service import Probe, initial_catalog


async def run(config: Path) -> int:
    settings = probe_settings.load(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Probe(settings), SystemdNotifier():
        await stop.wait()
    return 0


def enroll(config: Path, *, qr: bool = True) -> int:
    """Make the probe's key if it has none; print its enrollment code (and a QR code)."""
    settings = probe_settings.load(config)
    me = identity.load_or_create(settings.state_path, settings.id)
    print(f"probe:        {settings.id}")
    print(f"fingerprint:  {me.fingerprint}")
    print(f"enrollment:   {me.enrollment_code}")
    if qr:
        import segno  # noqa: PLC0415 - only this command draws QR codes

        segno.make(me.enrollment_code, error="m").terminal(compact=True)
    print("Give the enrollment code to your Balise operator: `balise fleet add CODE`.")
    return 0


async def check(config: Path | None, *, catalog: Path | None = None) -> int:
    """One round, printed as a table; exit 0 when every platform's chain succeeded."""
    if config is not None:
        settings = probe_settings.load(config)
        measure = settings.measure
        targets = load_toml(catalog, Catalog) if catalog else initial_catalog(settings)
    else:
        measure = MeasureSettings()
        targets = load_toml(catalog or BUILTIN_CATALOG, Catalog)
    started = time.monotonic()
    results, anchors = await measure_round(
        targets, measure, NetworkBackend.from_settings(measure), 1
    )
    print(render_check(results, anchors))
    print(f"round took {time.monotonic() - started:.1f}s")
    return 0 if all(r.failed_layer is None for r in results) else 1
