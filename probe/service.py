"""The long-lived probe: a round every `round_s` (jittered), spooled, then published."""

import asyncio
import contextlib
import logging
import random
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from balise import __version__, wire
from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from balise.model.messages import ProbeMeta, Round
from probe import identity
from probe.backend import Backend, NetworkBackend
from probe.clock import ProbeClock, boot_id, kernel_clock_synced
from probe.heap import release_free_memory
from probe.measurements.timing import RoundClock
from probe.measurements.traceroute import TracerouteLimiter
from probe.round import measure_round
from probe.settings import ProbeSettings
from probe.spool import Spool
from probe.uplink import Uplink

log = logging.getLogger(__name__)

FLEET_CATALOG = "fleet-catalog.json"


def meta_of(settings: ProbeSettings) -> ProbeMeta:
    where = settings.location
    return ProbeMeta(
        country=where.country,
        region=where.region,
        asn=where.asn,
        network=where.network,
        access=where.access,
        version=__version__,
        control=where.control,
    )


def initial_catalog(settings: ProbeSettings) -> Catalog:
    """The fleet's last catalog if one was received, else the configured or built-in file."""
    cached = settings.state_path / FLEET_CATALOG
    if cached.exists():
        try:
            return wire.decode_catalog(cached.read_bytes())
        except wire.WireError as exc:
            log.warning("ignoring the cached fleet catalog %s: %s", cached, exc)
    return load_toml(Path(settings.catalog) if settings.catalog else BUILTIN_CATALOG, Catalog)


class Probe:
    """Owns the spool, the uplink and the round loop (task `rounds:<id>`)."""

    def __init__(self, settings: ProbeSettings, *, backend: Backend | None = None) -> None:
        self.settings = settings
        self.backend = backend or NetworkBackend.from_settings(settings.measure)
        self.traceroutes = TracerouteLimiter(settings.measure.traceroute_every_s)
        self.catalog = initial_catalog(settings)
        self.clock = ProbeClock(offset_s=settings.clock_offset_s, boot=boot_id())
        self.meta = meta_of(settings)
        self.identity = identity.load_or_create(settings.state_path, settings.id)
        self.spool = Spool(
            settings.state_path / "spool.sqlite",
            max_bytes=int(settings.spool_max_mb * 1024 * 1024),
        )
        self.uplink = Uplink(
            settings.id,
            settings.mqtt,
            self.spool,
            version=__version__,
            on_catalog=self._catalog_received,
            clock_synced=kernel_clock_synced,
            heartbeat_s=settings.heartbeat_s,
            replay_per_s=settings.replay_per_s,
            sign=self.identity.sign if settings.sign else None,
            compress=settings.compress,
        )
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()  # noqa: S311 - schedule jitter, not cryptography
        self.rounds_done = 0
        self.results_measured = 0
        self.last_round: Round | None = None

    async def __aenter__(self) -> Self:
        await self.uplink.__aenter__()
        self._task = asyncio.create_task(self._rounds(), name=f"rounds:{self.settings.id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.uplink.__aexit__(exc_type, exc, tb)
        self.spool.close()

    def _catalog_received(self, catalog: Catalog) -> None:
        if catalog == self.catalog:
            return
        log.info("new fleet catalog %r with %d targets", catalog.revision, len(catalog.targets))
        self.catalog = catalog
        path = self.settings.state_path / FLEET_CATALOG
        path.write_bytes(msgspec.json.encode(catalog))

    async def measure(self) -> Round:
        """Measure one round and return it, without spooling it."""
        started = self.clock.wall()
        mono = time.monotonic()
        seq = self.spool.next_seq()
        targets, anchors = await measure_round(
            self.catalog,
            self.settings.measure,
            self.backend,
            seq,
            clock=RoundClock(start=mono),
            traceroutes=self.traceroutes,
        )
        return Round(
            probe=self.settings.id,
            seq=seq,
            started=started,
            clock=self.clock.info(mono),
            meta=self.meta,
            targets=targets,
            anchors=anchors,
            floor=self.spool.floor(),
        )

    async def run_round(self) -> Round:
        round_ = await self.measure()
        await asyncio.to_thread(self.spool.append, round_)
        self.uplink.round_spooled()
        self.rounds_done += 1
        self.results_measured += len(round_.targets)
        self.last_round = round_
        release_free_memory()  # the round's garbage is gone: its pages go back
        return round_

    async def stop_measuring(self) -> None:
        """Let the round under way finish, start no other; the uplink goes on."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drained(self, timeout_s: float) -> bool:
        """Wait until the collector has acknowledged every spooled round."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while True:
                    self.uplink.ack_received.clear()
                    if not await asyncio.to_thread(self.spool.backlog):
                        return True
                    await self.uplink.ack_received.wait()
        return False

    async def _rounds(self) -> None:
        interval = self.settings.round_s
        next_start = time.monotonic()
        while True:
            try:
                await self.run_round()
            except Exception:
                # A bug in one round must not stop the probe; the next round runs as usual.
                log.exception("round failed")
            jitter = self._rng.uniform(-self.settings.jitter, self.settings.jitter)
            next_start += interval * (1 + jitter)
            await asyncio.sleep(max(0.0, next_start - time.monotonic()))
