"""One round: every target's chain and every anchor, measured together within a deadline.

Targets run at most `concurrency` at a time; anchors all at once beside them. At
`round_deadline_s` from the round's start the round ends whatever is in flight: a
chain keeps what it measured (`truncated`), a target not yet started reports only
`truncated`, an anchor not done is left out.
"""

import asyncio
import logging
import time

from balise.model.catalog import Catalog, Target
from balise.model.results import AnchorResult, TargetResult
from probe.backend import Backend, load_libraries
from probe.chain import ChainPlan, measure_target
from probe.measure_settings import MeasureSettings
from probe.measurements import anchors
from probe.measurements.dns import lookup
from probe.measurements.resolver import ResolverSpec, parse_resolver
from probe.measurements.timing import RoundClock
from probe.measurements.traceroute import TracerouteLimiter

log = logging.getLogger(__name__)


async def measure_round(
    catalog: Catalog,
    settings: MeasureSettings,
    backend: Backend,
    round_no: int,
    *,
    clock: RoundClock | None = None,
    traceroutes: TracerouteLimiter | None = None,
) -> tuple[tuple[TargetResult, ...], tuple[AnchorResult, ...]]:
    """Measure every target and anchor of `catalog` once.

    `round_no` counts from 1 (the round's seq). Throughput runs in rounds 1,
    1 + throughput_every, ... (`throughput_turn`: which objects). `traceroutes`, owned
    by the caller across rounds, enables traceroutes (when settings.traceroute is on too).
    """
    await asyncio.to_thread(load_libraries)  # now, so that no timed step waits for an import
    clock = clock or RoundClock()
    deadline = clock.start + settings.round_deadline_s
    plan = ChainPlan(
        clock=clock,
        settings=settings,
        independent=await _independent_resolver(catalog, settings, backend),
        throughput_targets=throughput_turn(catalog, round_no),
        deadline=deadline,
        traceroutes=traceroutes if settings.traceroute else None,
    )
    gate = asyncio.Semaphore(settings.concurrency)

    async def one_target(target: Target) -> TargetResult:
        async with gate:
            if time.monotonic() >= deadline:
                return TargetResult(
                    target=target.id, control=target.kind == "control", truncated=True
                )
            return await measure_target(target, plan, backend)

    async def one_anchor(config: anchors.Config) -> AnchorResult | None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + deadline - time.monotonic()):
                return await anchors.run(config, backend)
        except TimeoutError:
            return None

    anchor_configs = [
        anchors.Config(
            clock=clock,
            anchor=anchor,
            timeout=settings.anchor_timeout_s,
            icmp=settings.icmp,
            default_port=settings.anchor_port,
        )
        for anchor in catalog.anchors
    ]
    async with asyncio.TaskGroup() as group:
        target_tasks = [
            group.create_task(one_target(t), name=f"target-{t.id}") for t in catalog.targets
        ]
        anchor_tasks = [
            group.create_task(one_anchor(c), name=f"anchor-{c.anchor.id}") for c in anchor_configs
        ]
    measured = (task.result() for task in anchor_tasks)
    return tuple(t.result() for t in target_tasks), tuple(a for a in measured if a is not None)


def throughput_turn(catalog: Catalog, round_no: int) -> frozenset[str]:
    """The ids of the targets whose objects round `round_no` downloads (none if not due).

    `throughput_objects` m of the n objects a throughput round, in turns: the p-th
    throughput round (p = (round_no - 1) / throughput_every) takes objects p*m to
    p*m + m - 1, mod n. The default catalog takes one an hour (every object each hour
    cost a metered SIM too much: docs/performance.md); without m, every object.
    """
    every = catalog.throughput_every
    sized = [t.id for t in catalog.targets if t.throughput_url]
    k = round_no - 1
    if every <= 0 or not sized or k % every:
        return frozenset()
    m = min(catalog.throughput_objects or len(sized), len(sized))
    first = k // every * m
    return frozenset(sized[(first + j) % len(sized)] for j in range(m))


async def _independent_resolver(
    catalog: Catalog, settings: MeasureSettings, backend: Backend
) -> ResolverSpec | None:
    """The settings' resolver, else the catalog's DoH URL, else its plain resolver.

    A DoH server's name is looked up once per round here; when that fails, each
    query looks it up again and records the failure.
    """
    text = settings.independent_resolver or catalog.doh_url or catalog.resolver
    if text is None:
        return None
    try:
        spec = parse_resolver(text)
    except ValueError as exc:  # the catalog came over the network; the round goes on without
        log.warning("catalog %s: no independent resolver: %s", catalog.revision, exc)
        return None
    if spec.kind == "doh" and spec.address is None:
        try:
            async with asyncio.timeout(settings.dns_timeout_s):
                address = await lookup(spec.host, backend)
        except Exception:  # noqa: BLE001 - recorded by each query that needs it
            return spec
        return ResolverSpec(kind="doh", url=spec.url, address=address)
    return spec
