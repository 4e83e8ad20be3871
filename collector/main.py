"""Entry point of `balise collector run`: settings, catalog and detector wired together."""

import asyncio
import gc
import logging
import signal
from pathlib import Path

from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from collector.detection.detector import Detector
from collector.service import DETECTOR_STATE, Collector
from collector.settings import CollectorSettings, load_settings

log = logging.getLogger(__name__)

# CPython's default thresholds (700, 10, 10) allow a full collection every hundred young
# ones: at a large fleet's rate one every two seconds, each scanning everything the
# collector holds (detector state, each probe's seqs and clocks, the buffered rounds) for
# 0.2 s: 16 % of its CPU in `balise bench ingest`. A round decoded is ≈ 76 tracked objects
# (its results' tuples) that live until its batch is written, ≈ 100,000 a second at
# 15,000 results/s: young collections every 1,000,000 allocations and older ones twenty
# times rarer run a few times a minute, ≈ 40 ms each, and still free cyclic garbage
# (docs/performance.md).
GC_THRESHOLDS = (1_000_000, 20, 20)


def fleet_catalog(settings: CollectorSettings) -> Catalog:
    return load_toml(Path(settings.catalog) if settings.catalog else BUILTIN_CATALOG, Catalog)


def restored_detector(settings: CollectorSettings) -> Detector:
    """The detector as the last run left it, so open events survive a restart."""
    path = Path(settings.state_dir) / DETECTOR_STATE
    if path.exists():
        try:
            return Detector.restore(path.read_bytes(), settings.detection)
        except ValueError:
            log.exception("cannot restore the detector from %s; starting afresh", path)
    return Detector(settings.detection)


async def run(config: Path) -> int:
    settings = load_settings(config)
    catalog = fleet_catalog(settings)
    detector = restored_detector(settings)
    # What start-up built (settings, catalog, the restored detector) lives as long as the
    # process: no collection needs to scan it again.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Collector(settings, catalog=catalog, detector=detector) as collector:
        log.info("collector up: health on port %s", collector.http_port)
        await stop.wait()
    return 0
