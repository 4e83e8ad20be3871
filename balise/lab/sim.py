"""The simulator: a scenario's world turned into probe messages, run through the real
collector ingest and detector in virtual time (docs/detection.md, "The simulator").

Every probe rounds every `round_s` from its own phase; what it measures follows the
actions in force (sim_measure.py). A probe cut from the broker by a shutdown keeps
measuring into its spool and replays those rounds, marked late, once it reconnects;
its Last Will reaches the collector after the broker's keep-alive timeout. A probe
that loses power sends nothing, its Last Will comes at once (the process is killed),
and it comes back with a new boot. Each message is encoded with the wire codec and
handed to `collector.ingest.Ingest.handle` at its virtual arrival time; the detector
is evaluated every `tick_s` virtual seconds.
"""

import asyncio
import random
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from balise import wire
from balise.lab.scenario import (
    Action,
    ClockSkew,
    Network,
    PlatformDown,
    ProbeDown,
    Scenario,
    Shutdown,
)
from balise.lab.sim_measure import Platform, anchors, conditions, measure, platforms
from balise.model.catalog import PLATFORM_IDS
from balise.model.events import Event
from balise.model.layers import Access
from balise.model.messages import ClockInfo, Heartbeat, ProbeMeta, Round, Status
from collector.counters import Counters
from collector.detection import DetectionSettings, Detector
from collector.ingest import Ingest
from collector.settings import InfluxV1StoreSettings
from collector.stores.batching import BatchWriter
from collector.stores.influx_v1 import InfluxV1Store
from collector.stores.sqlite import SqliteStore

if TYPE_CHECKING:
    from collector.stores.store import Store

T0 = 1_750_000_000.0  # the virtual unix time a scenario starts at
KEEPALIVE_S = 30.0  # the probes' MQTT keep-alive: a cut probe's Last Will comes 1.5x later
HEARTBEAT_S = 30.0
CONTROL_NETWORK = Network(name="control", asn=65534, country="ZZ", region="", access=Access.FIXED)
CONTROL_ID = "control-vp"
VERSION = "sim"
FLUSH_EVERY = 500  # buffered messages handed to the store at once


@dataclass(frozen=True, slots=True)
class Delivery:
    at: float  # scenario seconds
    order: int
    topic: str
    payload: bytes


@dataclass(slots=True)
class SimResult:
    events: list[Event]
    t0: float
    counters: Counters
    messages: int = 0


@dataclass(slots=True)
class _Probe:
    id: str
    network: Network
    control: bool
    rng: random.Random
    phase: float
    base_kbps: dict[str, float] = field(default_factory=dict)
    seq: int = 0


def world(scenario: Scenario) -> list[_Probe]:
    rng = random.Random(scenario.seed)  # noqa: S311 - simulation noise, not cryptography
    specs = [(p.id, scenario.network_of(p), False) for p in scenario.probe]
    if scenario.control:
        specs.append((CONTROL_ID, CONTROL_NETWORK, True))
    probes = []
    for probe_id, network, control in specs:
        own = random.Random(f"{scenario.seed}:{probe_id}")  # noqa: S311 - simulation noise
        top = 8000.0 if network.access == Access.MOBILE else 30000.0
        probes.append(
            _Probe(
                id=probe_id,
                network=network,
                control=control,
                rng=own,
                phase=rng.uniform(0, scenario.round_s),
                base_kbps={p: own.uniform(0.3, 1.0) * top for p in PLATFORM_IDS},
            )
        )
    return probes


def deliveries(scenario: Scenario) -> list[Delivery]:
    """Every message of every probe, at its virtual arrival time, in arrival order."""
    out: list[Delivery] = []
    catalog = platforms(PLATFORM_IDS)
    for probe in world(scenario):
        out.extend(_probe_messages(scenario, probe, catalog))
    out.sort(key=lambda d: (d.at, d.order))
    return [d for d in out if d.at <= scenario.duration_s]


def _applies(scenario: Scenario, action: Action, probe: _Probe) -> bool:
    if probe.control:
        return isinstance(action, PlatformDown)
    if isinstance(action, ProbeDown | ClockSkew) and action.probes:
        return probe.id in action.probes
    return any(n.name == probe.network.name for n in scenario.networks_of(action))


def _active(scenario: Scenario, action: Action, at: float) -> bool:
    until = scenario.duration_s if action.until_s is None else action.until_s
    return action.at_s <= at < until


def _windows(scenario: Scenario, probe: _Probe, kind: type) -> list[tuple[float, float]]:
    """Merged [start, end) windows of one action kind on this probe."""
    spans = sorted(
        (a.at_s, scenario.duration_s if a.until_s is None else a.until_s)
        for a in scenario.action
        if isinstance(a, kind) and _applies(scenario, a, probe)
    )
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(windows: list[tuple[float, float]], at: float) -> tuple[float, float] | None:
    return next(((s, e) for s, e in windows if s <= at < e), None)


def _probe_messages(  # noqa: C901, PLR0912, PLR0915 - one probe's life, step by step
    scenario: Scenario, probe: _Probe, catalog: tuple[Platform, ...]
) -> Iterator[Delivery]:
    rng = probe.rng
    r = scenario.round_s
    cuts = _windows(scenario, probe, Shutdown)
    downs = _windows(scenario, probe, ProbeDown)
    reconnect = {end: end + rng.uniform(1.0, 3.0) for _, end in cuts}
    order = iter(range(1_000_000))
    meta = ProbeMeta(
        country=probe.network.country,
        region=probe.network.region,
        asn=probe.network.asn,
        network=probe.network.name,
        access=probe.network.access,
        version=VERSION,
        control=probe.control,
    )

    def status(state: Literal["online", "offline"], at: float, *, will: bool = False) -> Delivery:
        message = Status(
            probe=probe.id,
            state=state,
            at=None if will else T0 + at,
            version=VERSION,
        )
        return Delivery(at, next(order), wire.topic(probe.id, "status"), wire.encode(message))

    def connected(at: float) -> bool:
        if _inside(downs, at):
            return False
        cut = _inside(cuts, at)
        if cut is None:
            # Reconnecting after a cut takes a moment.
            return not any(end <= at < reconnect[end] for _, end in cuts)
        return False

    boot, boot_at = uuid.UUID(int=rng.getrandbits(128)).hex, -rng.uniform(600, 86400)
    yield status("online", 0.01)
    # Last Wills and comebacks.
    for start, end in downs:
        yield status("offline", start + 0.5, will=True)
        if end < scenario.duration_s:
            yield status("online", end + 2.0)
    for start, end in cuts:
        if end - start > 1.5 * KEEPALIVE_S:
            yield status("offline", start + 1.5 * KEEPALIVE_S, will=True)
        yield status("online", reconnect[end])
    beat = rng.uniform(0, HEARTBEAT_S)
    while beat < scenario.duration_s:
        if connected(beat):
            heartbeat = Heartbeat(probe=probe.id, at=T0 + beat, last_seq=probe.seq)
            yield Delivery(
                beat, next(order), wire.topic(probe.id, "heartbeat"), wire.encode(heartbeat)
            )
        beat += HEARTBEAT_S
    reboots = [end for _, end in downs]
    k = 0
    while True:
        started = probe.phase + k * r + rng.uniform(-0.02, 0.02) * r
        k += 1
        if started >= scenario.duration_s:
            break
        if started < 0 or _inside(downs, started):
            continue
        while reboots and reboots[0] <= started:  # powered on again: a new boot
            boot, boot_at = uuid.UUID(int=rng.getrandbits(128)).hex, reboots.pop(0) - 20.0
        in_force = tuple(
            a
            for a in scenario.action
            if _active(scenario, a, started) and _applies(scenario, a, probe)
        )
        down = frozenset(
            p
            for a in in_force
            if isinstance(a, PlatformDown)
            for p in (a.platforms or PLATFORM_IDS)
        )
        c = conditions(in_force, down)
        results = [measure(platform, c, rng, probe.base_kbps[platform.id]) for platform in catalog]
        duration = 1.2 + rng.uniform(0, 0.8) + (3.0 if any(w for _, w in results) else 0.0)
        finished = started + duration
        if _inside(downs, finished):
            continue  # killed mid-round
        skew = next((a for a in in_force if isinstance(a, ClockSkew)), None)
        probe.seq += 1
        cut = _inside(cuts, finished)
        late = cut is not None or not connected(finished)
        arrival = finished + 0.05
        if cut is not None:
            arrival = reconnect[cut[1]] + 0.1 + 0.01 * probe.seq
        elif late:  # finished while reconnecting after a cut
            ended = max(end for _, end in cuts if end <= finished)
            arrival = reconnect[ended] + 0.1 + 0.01 * probe.seq
        message = Round(
            probe=probe.id,
            seq=probe.seq,
            started=T0 + started + (skew.offset_s if skew else 0.0),
            clock=ClockInfo(
                mono=round(started - boot_at, 3),
                boot_id=boot,
                synced=skew is None,
                offset_s=skew.offset_s if skew else 0.0,
            ),
            meta=meta,
            targets=tuple(result for result, _ in results),
            anchors=anchors(probe.network.country, c, rng),
            late=late,
        )
        yield Delivery(arrival, next(order), wire.topic(probe.id, "round"), wire.encode(message))


async def run_scenario(
    scenario: Scenario,
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
    settings: DetectionSettings | None = None,
    tick_s: float | None = None,
    sqlite_path: Path | None = None,
) -> SimResult:
    """Feed the scenario's messages through the real ingest and detector; events at the end.

    The SQLite store lives in a temporary directory unless `sqlite_path` keeps it.
    """
    detector = Detector(settings or DetectionSettings(round_s=scenario.round_s))
    counters = Counters()
    tick = tick_s or min(1.0, scenario.round_s / 10)
    with tempfile.TemporaryDirectory(prefix="balise-sim-") as tmp:
        store: Store = (
            InfluxV1Store(InfluxV1StoreSettings(url=influx_url, database=influx_db))
            if influx_url
            else SqliteStore(sqlite_path or Path(tmp) / "sim.sqlite3")
        )
        try:
            async with BatchWriter(store, counters) as writer:
                ingest = Ingest(writer=writer, observers=[detector], counters=counters)
                messages = deliveries(scenario)
                now = 0.0
                for delivery in messages:
                    while now + tick <= delivery.at:
                        now += tick
                        detector.evaluate(T0 + now)
                    ingest.handle(delivery.topic, delivery.payload, T0 + delivery.at)
                    if writer.pending >= FLUSH_EVERY:
                        await writer.flush()
                while now + tick <= scenario.duration_s:
                    now += tick
                    detector.evaluate(T0 + now)
                detector.evaluate(T0 + scenario.duration_s)
                await writer.flush()
                events = detector.events()
                await store.write_events(events)
        finally:
            await store.close()
    return SimResult(events=events, t0=T0, counters=counters, messages=len(messages))


def run(
    scenario: Scenario,
    *,
    influx_url: str | None = None,
    influx_db: str = "balise",
    sqlite_path: Path | None = None,
) -> SimResult:
    return asyncio.run(
        run_scenario(scenario, influx_url=influx_url, influx_db=influx_db, sqlite_path=sqlite_path)
    )
