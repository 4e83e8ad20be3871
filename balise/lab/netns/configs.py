"""The settings of the real programs a netns run starts: the lab's catalog, every
probe's settings, the collector's and Mosquitto's, in compressed time.

A scenario's round of `round_s` lasts `scale.real(round_s)` here (see TimeScale);
every duration the programs use (rounds, keep-alives, heartbeats, timeouts) shrinks
with it, so the probes, the broker and the collector see the same story, faster.
"""

from dataclasses import dataclass
from pathlib import Path

import msgspec

from balise.lab.netns.addressing import (
    AUTHORITATIVE_DNS,
    BROKER,
    CONTROL_PROBE,
    DOMESTIC_SITE,
    INTERNATIONAL_ANCHORS,
)
from balise.lab.scenario import Network
from balise.model.catalog import Anchor, Catalog, Target
from balise.model.events import Event
from balise.model.layers import Access
from balise.mqtt import MqttSettings
from collector.detection.settings import DetectionSettings
from collector.settings import (
    CollectorSettings,
    HttpSettings,
    InfluxV1StoreSettings,
    SqliteStoreSettings,
)
from probe.measure_settings import MeasureSettings
from probe.settings import ProbeIdentity, ProbeMqttSettings, ProbeSettings

REAL_ROUND_S = 3.0  # a scenario round lasts this long in the lab (or less, if it is shorter)
BROKER_PORT = 1883
COLLECTOR_HTTP = "127.0.0.1:8470"  # on the core's own loopback
INFLUX_RELAY_PORT = 8086  # on the core's loopback, relayed to the InfluxDB the user named
# A throughput test: 40-100 ms on a subscriber line (shaping.ACCESS_KBPS), long enough
# that a pause of a busy machine is not read as a slow platform; ten of them, one at a
# time, fit in a round.
THROUGHPUT_BYTES = 100_000
# The download stops after this share of a round and reports its rate. Under a
# throttle every download runs into it, and three or more must still fit in the round
# (the detector's all-traffic rule); the cap must also outlast the first TLS record
# (16 kB) at a throttled rate, or the download reports no rate at all.
THROUGHPUT_ROUND_SHARE = 0.06
# Rounds a probe may be late before it counts as silent (the detector's default is half a
# round). What makes a round late does not compress with the lab's time: TCP's 1 s SYN
# retransmission and 0.75 s timeouts on a lossy line stretch a 3 s round to 2.7 s, where a
# field round of 60 s would hardly notice them.
LAB_SILENCE_GRACE = 1.0
# TCP resends a lost SYN after 1 s, however compressed the lab's time: a connect timeout
# must outlast that, as the field's 5 s does (else 5 % loss fails one connect in ten).
SYN_RETRANSMIT_S = 1.0
# The control vantage point stands outside every scenario country, as in sim mode.
CONTROL_NETWORK = Network(name="control", asn=65534, country="ZZ", access=Access.FIXED)


@dataclass(frozen=True, slots=True)
class TimeScale:
    """Real seconds per scenario second: how much faster than the scenario the lab runs."""

    factor: float

    @classmethod
    def for_round(cls, round_s: float) -> "TimeScale":
        return cls(min(1.0, REAL_ROUND_S / round_s))

    def real(self, scenario_s: float) -> float:
        return scenario_s * self.factor

    def event_in_scenario_time(self, event: Event, t0: float) -> Event:
        """The event with its times stretched back to scenario seconds after `t0`."""

        def back(t: float) -> float:
            return t0 + (t - t0) / self.factor

        return msgspec.structs.replace(
            event,
            start=back(event.start),
            end=None if event.end is None else back(event.end),
            first_emitted=back(event.first_emitted),
            updated=back(event.updated),
        )


def lab_catalog(source: Catalog) -> Catalog:
    """The catalog's targets, served by the lab, with the lab's anchors and resolver."""
    targets = tuple(
        Target(
            id=t.id,
            name=t.name,
            domain=t.domain,
            port=t.port,
            path=t.path,
            http_domain=t.http_domain,
            throughput_url=None
            if t.kind == "control"
            else f"https://{t.domain}/blob/{THROUGHPUT_BYTES}",
            kind=t.kind,
        )
        for t in source.targets
    )
    anchors = (
        Anchor(id="gateway", role="gateway", address="auto"),
        Anchor(id="resolver", role="resolver", address="auto", port=53),
        Anchor(id="national", role="domestic", address=str(DOMESTIC_SITE), port=443),
        *(
            Anchor(id=name, role="international", address=str(address), port=443)
            for name, address in INTERNATIONAL_ANCHORS.items()
        ),
    )
    return Catalog(
        version=source.version,
        revision=f"{source.revision or 'catalog'} in the netns lab",
        targets=targets,
        anchors=anchors,
        resolver=str(AUTHORITATIVE_DNS),  # the independent resolver: the Internet's own DNS
        throughput_every=1,  # as in sim mode: a throttle shows within a few rounds
    )


def broker_settings(scale: TimeScale, real_round_s: float) -> MqttSettings:
    """Keep-alive 30 scenario seconds, as in sim mode; a reconnect waits a round at most."""
    return MqttSettings(
        url=f"mqtt://{BROKER}:{BROKER_PORT}",
        keepalive_s=max(2, round(scale.real(30))),
        backoff_cap_s=real_round_s,
    )


def probe_settings(
    probe_id: str,
    network: Network,
    *,
    round_s: float,
    scale: TimeScale,
    clock_offset_s: float,
    catalog: Path,
    ca_file: Path,
    state_dir: Path,
) -> ProbeSettings:
    real_round = scale.real(round_s)
    timeout = min(1.0, real_round / 4)
    return ProbeSettings(
        id=probe_id,
        location=ProbeIdentity(
            country=network.country,
            region=network.region,
            asn=network.asn,
            network=network.name,
            access=network.access,
            control=probe_id == CONTROL_PROBE,
        ),
        state_dir=str(state_dir),
        round_s=real_round,
        jitter=0.0,  # a lab's handful of probes need no spreading; rounds arrive steadily
        heartbeat_s=scale.real(30),
        catalog=str(catalog),
        replay_per_s=20,
        clock_offset_s=clock_offset_s,
        # The same keep-alive as the collector's: the lab times Last Wills in scenario time.
        mqtt=ProbeMqttSettings(**msgspec.structs.asdict(broker_settings(scale, real_round))),
        measure=MeasureSettings(
            dns_timeout_s=timeout,
            connect_timeout_s=SYN_RETRANSMIT_S + timeout / 3,
            tls_timeout_s=timeout,
            http_timeout_s=2 * timeout,
            anchor_timeout_s=timeout / 2,
            throughput_timeout_s=THROUGHPUT_ROUND_SHARE * real_round,
            throughput_max_bytes=THROUGHPUT_BYTES,
            ca_file=str(ca_file),
            concurrency=16,  # every target at once: a round must fit in its short interval
            round_deadline_s=0.9 * real_round,
            traceroute=False,
        ),
    )


def collector_settings(
    *, round_s: float, scale: TimeScale, catalog: Path, state_dir: Path, influx_db: str | None
) -> CollectorSettings:
    real_round = scale.real(round_s)
    store = (
        SqliteStoreSettings()
        if influx_db is None
        else InfluxV1StoreSettings(url=f"http://127.0.0.1:{INFLUX_RELAY_PORT}", database=influx_db)
    )
    return CollectorSettings(
        mqtt=broker_settings(scale, real_round),
        store=store,
        http=HttpSettings(listen=COLLECTOR_HTTP),
        state_dir=str(state_dir),
        catalog=str(catalog),
        detection=DetectionSettings(
            round_s=real_round,
            evaluate_interval_s=real_round / 10,
            max_clock_error_s=scale.real(DetectionSettings().max_clock_error_s),
            silence_grace=LAB_SILENCE_GRACE,
        ),
    )


def mosquitto_conf(directory: Path) -> str:
    return (
        f"listener {BROKER_PORT} {BROKER}\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {directory}/\n"
        "max_queued_messages 0\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
    )
