"""A synthetic fleet for `balise bench ingest`: realistic rounds, published from a process.

Each publisher process speaks for a slice of the fleet's probes over one MQTT
connection (a real probe has its own; the collector cannot tell the difference:
the topic names the probe). Rounds carry full chains DNS → TCP → TLS → HTTP for
every target, a few failures (`NOISE_SHARE` of rounds), three anchors, and
throughput results as often and for as many targets as the default catalog has them.
They are not signed: the collector checks signatures only with a `[fleet]` table.

A publisher either publishes a given number of rounds per probe as fast as it can,
or paces rounds at a rate for a while; with `acks`, it measures each round's time
from publication to the collector's acknowledgement (which means: stored).
"""

import array
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from balise import wire
from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from balise.model.layers import Access, Layer
from balise.model.messages import ClockInfo, ProbeMeta, Round
from balise.model.results import (
    AnchorResult,
    DnsResult,
    HttpResult,
    TargetResult,
    TcpResult,
    ThroughputResult,
    TlsResult,
)
from balise.mqtt import MqttSettings

if TYPE_CHECKING:
    from balise.model.failures import Failure

NOISE_SHARE = 0.05  # rounds with one failing target
VARIANTS = 64  # prebuilt rounds of measured durations per kind
TICK_S = 0.01  # a paced publisher publishes what is due this often
CHUNK = 256  # publications sent together; as many at most unconfirmed, as fast as it can
KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 30.0
GO_TIMEOUT_S = 600.0  # the other publishers building their rounds; the broker's PUBACKs
READY = "ready"
GO = "go"


def probe_id(number: int) -> str:
    return f"bench-{number:06d}"


@dataclass(frozen=True, slots=True)
class Job:
    """What one publisher process does. Rounds go to probes in turn, one seq each."""

    url: str
    probes: tuple[int, ...]  # probe numbers
    first_seqs: tuple[int, ...]  # each probe's next seq
    targets: int
    rounds: int  # rounds in all (paced: the most to publish)
    rate: float = 0.0  # rounds per second; 0: as fast as possible
    # Rounds per second the rounds' own times advance at, when published faster than that:
    # a backlog queued while the collector was away was measured at the fleet's pace.
    pace: float = 0.0
    # Build every round first, then publish from this wall-clock time on (a paced phase).
    start_at: float | None = None
    acks: bool = False  # wait for acknowledgements and time them
    ack_wait_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Report:
    published: int  # rounds
    results: int  # target results in them
    first_publish: float  # wall clock
    last_publish: float
    next_seqs: tuple[int, ...]
    latencies: bytes  # array("d") of publish → acknowledgement seconds
    unacked: int  # rounds never acknowledged within ack_wait_s
    cpu_s: float  # CPU the process used from `go` to its last publication


class RoundMaker:
    """Rounds of the synthetic fleet, built from a few shared target tuples."""

    def __init__(self, targets: int, *, seed: int = 0) -> None:
        self._rng = rng = random.Random(seed)  # noqa: S311 - benchmark noise, not cryptography
        names = [f"platform-{n:02d}" for n in range(targets)]
        catalog = load_toml(BUILTIN_CATALOG, Catalog)
        self._throughput_every = catalog.throughput_every
        objects = sum(t.throughput_url is not None for t in catalog.targets)
        downloads = min(objects, catalog.throughput_objects or objects)  # a throughput round's
        # Durations vary as measured ones do (InfluxDB compresses constant values to nothing),
        # from a few prebuilt variants: building every round anew would load the fleet.
        self._ok = [tuple(_chain(name, rng) for name in names) for _ in range(VARIANTS)]
        self._with_throughput = [
            tuple(_chain(name, rng, throughput=n < downloads) for n, name in enumerate(names))
            for _ in range(VARIANTS)
        ]
        layers = (Layer.DNS, Layer.TCP, Layer.TLS, Layer.HTTP)
        self._failing = [
            tuple(
                _chain(name, rng, failed=layers[n % len(layers)] if n == bad else None)
                for n, name in enumerate(names)
            )
            for bad in range(targets)
        ]
        self._anchors = _anchors()
        self._last: dict[str, float] = {}

    def make(self, number: int, seq: int, *, floor: int = 0, at: float | None = None) -> Round:
        """Round `seq` of probe `number`, measured `at` (default: now); rounds up to `floor`
        are known to be acknowledged."""
        probe = probe_id(number)
        if self._rng.random() < NOISE_SHARE:
            targets = self._failing[self._rng.randrange(len(self._failing))]
        elif seq % self._throughput_every == 1:
            targets = self._rng.choice(self._with_throughput)
        else:
            targets = self._rng.choice(self._ok)
        # A probe's rounds never share a microsecond: InfluxDB would keep one point of two.
        started = max(time.time() if at is None else at, self._last.get(probe, 0.0) + 1e-5)
        self._last[probe] = started
        return Round(
            probe=probe,
            seq=seq,
            started=started,
            clock=ClockInfo(mono=1000.0 + 60.0 * seq, boot_id=f"boot-{number}", synced=True),
            meta=_meta(number),
            targets=targets,
            anchors=self._anchors,
            floor=floor,
        )


def _meta(number: int) -> ProbeMeta:
    return ProbeMeta(
        country="ABCDEFGHIJ"[number % 10] + "ZYXWV"[number % 5],
        region=f"region-{number % 7}",
        asn=64496 + number % 400,
        network=f"operator-{number % 400}",
        access=Access.MOBILE if number % 3 else Access.FIXED,
        version="0.1.0",
    )


def _chain(
    name: str, rng: random.Random, *, failed: Layer | None = None, throughput: bool = False
) -> TargetResult:
    """One target's chain as a probe records it (probe/measurements): times in seconds
    from the round's start to a tenth of a millisecond (RoundClock), each step's duration
    drawn around a typical mobile line's; HTTPS a HEAD (no body), plain HTTP the
    platform's 301 to HTTPS, recorded and not followed."""
    domain = f"www.{name}.example"
    address = "203.0.113.10"
    failure: Failure | None = "connection_reset" if failed else None
    clock = round(rng.uniform(0.0, 1.0), 4)  # targets are measured side by side

    def step(typical_s: float, spread: float = 0.5) -> tuple[float, float]:
        nonlocal clock
        t0 = clock
        clock = round(clock + rng.uniform(1 - spread, 1 + spread) * typical_s, 4)
        return t0, clock

    dns_t0, dns_t = step(0.021)
    doh_t0, doh_t = step(0.034)
    dns = (
        DnsResult(
            t0=dns_t0,
            t=dns_t,
            failure="dns_nxdomain_error" if failed == Layer.DNS else None,
            domain=domain,
            qtype="A",
            resolver="system",
            rcode="NXDOMAIN" if failed == Layer.DNS else "NOERROR",
            answers=() if failed == Layer.DNS else (address,),
        ),
        DnsResult(
            t0=doh_t0,
            t=doh_t,
            domain=domain,
            qtype="A",
            resolver="doh:https://resolver.example/dns-query",
            rcode="NOERROR",
            answers=(address,),
        ),
    )
    if failed == Layer.DNS:
        return TargetResult(target=name, failed_layer=failed, failure="dns_nxdomain_error", dns=dns)
    tcp_t0, tcp_t = step(0.046)
    tcp = (
        TcpResult(
            t0=tcp_t0,
            t=tcp_t,
            failure=failure if failed == Layer.TCP else None,
            address=address,
            port=443,
        ),
    )
    if failed == Layer.TCP:
        return TargetResult(target=name, failed_layer=failed, failure=failure, dns=dns, tcp=tcp)
    tls_t0, tls_t = step(0.108)
    decoy_t0, decoy_t = step(0.1)
    tls = (
        TlsResult(
            t0=tls_t0,
            t=tls_t,
            failure=failure if failed == Layer.TLS else None,
            address=address,
            port=443,
            sni=domain,
            version=None if failed == Layer.TLS else "TLSv1.3",
            cert_valid=None if failed == Layer.TLS else True,
            decoy=TlsResult(
                t0=decoy_t0,
                t=decoy_t,
                address=address,
                port=443,
                sni="example.org",
                version="TLSv1.3",
            )
            if failed == Layer.TLS
            else None,
        ),
    )
    if failed == Layer.TLS:
        return TargetResult(
            target=name, failed_layer=failed, failure=failure, dns=dns, tcp=tcp, tls=tls
        )
    https_t0, https_t = step(0.211)
    http_t0, http_t = step(0.071)
    http = (
        HttpResult(
            t0=https_t0,
            t=https_t,
            failure=failure if failed == Layer.HTTP else None,
            url=f"https://{domain}/",
            status=None if failed == Layer.HTTP else 200,
        ),
        HttpResult(
            t0=http_t0,
            t=http_t,
            url=f"http://{domain}/",
            status=301,
            body_length=rng.randrange(160, 180),
            title="301 Moved Permanently",
            redirects=(f"https://{domain}/",),
        ),
    )
    # A healthy line's rate is steady: no sample near the detector's throttling threshold.
    download_t0, download_t = step(2.0, spread=0.1)
    kbps = round(1_250_000 * 8 / 1000 / (download_t - download_t0), 1)
    return TargetResult(
        target=name,
        failed_layer=failed,
        failure=failure,
        dns=dns,
        tcp=tcp,
        tls=tls,
        http=http,
        throughput=ThroughputResult(
            t0=download_t0,
            t=download_t,
            url=f"https://cdn.{name}.example/object",
            bytes=1_250_000,
            kbps=kbps,
        )
        if throughput
        else None,
    )


def _anchors() -> tuple[AnchorResult, ...]:
    return (
        AnchorResult(
            t0=0.0,
            t=0.002,
            anchor="gateway",
            role="gateway",
            method="icmp",
            address="192.168.1.1",
            rtt_ms=1.8,
        ),
        AnchorResult(
            t0=0.0,
            t=0.004,
            anchor="resolver",
            role="resolver",
            method="tcp",
            address="192.168.1.1",
            rtt_ms=3.1,
        ),
        AnchorResult(
            t0=0.0,
            t=0.09,
            anchor="quad9",
            role="international",
            method="tcp",
            address="9.9.9.9",
            rtt_ms=88.0,
        ),
    )


class _AckClock:
    """Publication times of rounds not yet acknowledged, and the latencies measured."""

    def __init__(self) -> None:
        self.pending: dict[str, deque[tuple[int, float]]] = {}
        self.latencies = array.array("d")
        self.outstanding = 0

    def published(self, probe: str, seq: int, at: float) -> None:
        self.pending.setdefault(probe, deque()).append((seq, at))
        self.outstanding += 1

    def acked(self, probe: str, seq: int, at: float) -> None:
        waiting = self.pending.get(probe)
        while waiting and waiting[0][0] <= seq:
            self.latencies.append(at - waiting.popleft()[1])
            self.outstanding -= 1


@dataclass(frozen=True, slots=True)
class _Publication:
    topic: str
    payload: bytes
    probe: str
    seq: int
    started: float
    results: int


def _plan(job: Job, start_wall: float) -> Iterator[_Publication]:
    """The job's rounds in publication order: probes in turn, one seq each, measured at
    `start_wall` plus their place in the schedule (`pace`, else `rate`), or when built."""
    maker = RoundMaker(job.targets, seed=job.probes[0] if job.probes else 0)
    seqs = list(job.first_seqs)
    pace = job.pace or job.rate
    for k in range(job.rounds if job.probes else 0):
        index = k % len(job.probes)
        # Earlier phases were stored before this one began: the probe's spool says so.
        floor = job.first_seqs[index] - 1
        at = start_wall + (k + 1) / pace if pace > 0 else None
        round_ = maker.make(job.probes[index], seqs[index], floor=floor, at=at)
        seqs[index] += 1
        yield _Publication(
            topic=wire.topic(round_.probe, "round"),
            payload=payload(round_),
            probe=round_.probe,
            seq=round_.seq,
            started=round_.started,
            results=len(round_.targets),
        )


class _Connection:
    """One paho client driven by this process's only thread, without an event loop.

    A load generator's CPU is taken from what it measures, on the collector's machine,
    where a real fleet's probes spend none: through aiomqtt each publication was a task
    and an event of its own, and the fleet cost 14 to 15 µs of CPU per result, 12 to 14 µs so.
    """

    def __init__(self, url: str, identifier: str, clock: _AckClock) -> None:
        host, port, _ = MqttSettings(url=url).endpoint()
        self._clock = clock
        self.confirmed = 0  # publications the broker has acknowledged (PUBACK)
        self._subscribed: set[int] = set()
        client = self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=identifier,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        client.max_inflight_messages_set(0)  # bounded here (`CHUNK`), never rescanned
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect(host, port, keepalive=KEEPALIVE_S)
        self.loop_until(client.is_connected, CONNECT_TIMEOUT_S, "connection")

    def subscribe(self, topics: list[str]) -> None:
        _, mid = self._client.subscribe([(topic, 1) for topic in topics])
        self.loop_until(lambda: mid in self._subscribed, CONNECT_TIMEOUT_S, "subscription")

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"bench publisher: {paho.error_string(info.rc)}")

    def loop(self, timeout_s: float = TICK_S) -> None:
        """Read and write what the socket has for us, waiting at most `timeout_s`."""
        rc = self._client.loop(timeout=timeout_s)
        if rc != paho.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"bench publisher: {paho.error_string(rc)}")

    def loop_until(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench publisher: no {what} within {timeout_s:g}s")
            self.loop()

    def close(self) -> None:
        self._client.disconnect()

    def _on_publish(self, *_: object) -> None:
        self.confirmed += 1

    def _on_subscribe(self, _client: object, _userdata: object, mid: int, *_: object) -> None:
        self._subscribed.add(mid)

    def _on_message(self, _client: object, _userdata: object, message: paho.MQTTMessage) -> None:
        probe, _ = wire.parse_topic(message.topic)
        if probe in self._clock.pending:
            ack = wire.decode_ack(bytes(message.payload), probe)
            self._clock.acked(probe, ack.seq, time.time())


def _publish(job: Job, conn: Connection) -> Report:
    clock = _AckClock()
    published = results = 0
    first = last = 0.0
    identifier = f"bench-publisher-{job.probes[0] if job.probes else 0}"
    # A paced phase is built before it starts (the load generator's own work would compete
    # with the collector for this machine's cores) and published on its schedule.
    start_wall = job.start_at if job.start_at is not None else time.time()
    plan: Iterable[_Publication] = _plan(job, start_wall)
    if job.start_at is not None:
        plan = list(plan)
    mqtt = _Connection(job.url, identifier, clock)
    try:
        if job.acks:  # our probes' acknowledgements only, not the whole fleet's
            mqtt.subscribe([wire.topic(probe_id(n), "ack") for n in job.probes])
        conn.send(READY)
        mqtt.loop_until(lambda: conn.poll(0), GO_TIMEOUT_S, "go")
        conn.recv()  # GO
        mqtt.loop_until(lambda: time.time() >= start_wall, GO_TIMEOUT_S, "start")
        started = time.monotonic()
        cpu_at_go = time.process_time()
        publications = iter(plan)
        while published < job.rounds and job.probes:
            if job.rate > 0:
                due = min(job.rounds, int((time.monotonic() - started) * job.rate)) - published
            else:  # as fast as the broker takes them, `CHUNK` at most unconfirmed
                due = min(CHUNK - (published - mqtt.confirmed), job.rounds - published)
            if due <= 0:
                mqtt.loop()
                continue
            for publication in itertools.islice(publications, min(due, CHUNK)):
                if job.acks:
                    clock.published(publication.probe, publication.seq, publication.started)
                mqtt.publish(publication.topic, publication.payload)
                published += 1
                results += publication.results
                last = publication.started
                first = first or last
            mqtt.loop(0)
        cpu_s = time.process_time() - cpu_at_go
        # Every publication is the broker's before the report says so.
        mqtt.loop_until(lambda: mqtt.confirmed >= published, GO_TIMEOUT_S, "PUBACK")
        if job.acks:
            with contextlib.suppress(TimeoutError):
                mqtt.loop_until(lambda: clock.outstanding == 0, job.ack_wait_s, "acknowledgement")
    finally:
        mqtt.close()
    seqs = (
        [
            seq + job.rounds // len(job.probes) + (1 if n < job.rounds % len(job.probes) else 0)
            for n, seq in enumerate(job.first_seqs)
        ]
        if job.probes
        else []
    )
    return Report(
        published=published,
        results=results,
        first_publish=first,
        last_publish=last,
        next_seqs=tuple(seqs),
        latencies=clock.latencies.tobytes(),
        unacked=clock.outstanding,
        cpu_s=cpu_s,
    )


def payload(round_: Round) -> bytes:
    """The round as a probe publishes it: compressed JSON (docs/wire-format.md)."""
    return wire.compress(wire.encode(round_))


def run_publisher(job: Job, conn: Connection) -> None:
    """A publisher process's main: connect, say `ready`, wait for `go`, publish, report."""
    conn.send(_publish(job, conn))
    conn.close()
