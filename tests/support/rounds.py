"""Realistic wire messages for tests: rounds, statuses and heartbeats of a probe.

    make_round(probe="ir-mci-1", seq=7, failures={"tiktok": (Layer.TLS, "connection_reset")})

A target without a failure gets the whole chain DNS → TCP → TLS → HTTP with
plausible timings; a failing one stops at its failed layer, as the probe's chain does.
"""

import time
from collections.abc import Mapping, Sequence
from typing import Literal

from balise import wire
from balise.model.failures import Failure
from balise.model.layers import CHAIN, Access, Layer
from balise.model.messages import ClockInfo, Heartbeat, ProbeMeta, Round, Status
from balise.model.results import (
    AnchorResult,
    DnsResult,
    HttpResult,
    TargetResult,
    TcpResult,
    ThroughputResult,
    TlsResult,
)

TARGETS = ("tiktok", "facebook", "whatsapp", "youtube", "telegram", "signal")
ADDRESS = "203.0.113.10"


def target_result(
    target: str,
    *,
    failed_layer: Layer | None = None,
    failure: Failure | None = None,
    kbps: float | None = None,
    start: float = 0.0,
) -> TargetResult:
    """One target's chain, failing at `failed_layer` with `failure` when given."""
    if (failed_layer is None) != (failure is None):
        raise ValueError("give both failed_layer and failure, or neither")
    domain = f"www.{target}.com"
    dns: tuple[DnsResult, ...] = ()
    tcp: tuple[TcpResult, ...] = ()
    tls: tuple[TlsResult, ...] = ()
    http: tuple[HttpResult, ...] = ()
    t = start
    for step, layer in enumerate(CHAIN):
        fails = layer == failed_layer
        t0, t = t, t + (5.0 if fails else 0.02 + 0.01 * step)
        lf = failure if fails else None
        if layer == Layer.DNS:
            dns = (
                DnsResult(
                    t0=t0,
                    t=t,
                    failure=lf,
                    domain=domain,
                    qtype="A",
                    resolver="system",
                    rcode=None if fails else "NOERROR",
                    answers=() if fails else (ADDRESS,),
                ),
            )
        elif layer == Layer.TCP:
            tcp = (TcpResult(t0=t0, t=t, failure=lf, address=ADDRESS, port=443),)
        elif layer == Layer.TLS:
            tls = (
                TlsResult(
                    t0=t0,
                    t=t,
                    failure=lf,
                    address=ADDRESS,
                    port=443,
                    sni=domain,
                    version=None if fails else "TLSv1.3",
                    cert_valid=None if fails else True,
                ),
            )
        else:
            http = (
                HttpResult(
                    t0=t0,
                    t=t,
                    failure=lf,
                    url=f"https://{domain}/",
                    status=None if fails else 200,
                    body_length=None if fails else 51234,
                ),
            )
        if fails:
            break
    throughput = None
    if kbps is not None and failed_layer is None:
        throughput = ThroughputResult(
            t0=t, t=t + 1.0, url=f"https://{domain}/obj", bytes=int(kbps * 125), kbps=kbps
        )
    return TargetResult(
        target=target,
        failed_layer=failed_layer,
        failure=failure,
        dns=dns,
        tcp=tcp,
        tls=tls,
        http=http,
        throughput=throughput,
    )


def anchor_results(*, failure: Failure | None = None) -> tuple[AnchorResult, ...]:
    """The gateway answers; the international anchor fails with `failure` when given."""
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
            t=0.09 if failure is None else 5.0,
            failure=failure,
            anchor="intl-1",
            role="international",
            method="tcp",
            address="198.51.100.1",
            rtt_ms=None if failure else 88.0,
        ),
    )


def make_round(
    *,
    probe: str = "probe-1",
    seq: int = 1,
    started: float | None = None,
    targets: Sequence[str | TargetResult] = TARGETS,
    failures: Mapping[str, tuple[Layer, Failure]] | None = None,
    anchors: Sequence[AnchorResult] | None = None,
    country: str = "IR",
    region: str = "Tehran",
    asn: int = 197207,
    access: Access = Access.MOBILE,
    network: str = "MCI",
    synced: bool = True,
    late: bool = False,
) -> Round:
    """A round of `probe`: every target in `targets` (ids or ready results).

    `started` defaults to now: give rounds of one probe distinct times (a real probe's
    are a minute apart), or InfluxDB keeps one point for all those in the same microsecond.
    """
    failures = failures or {}
    results = tuple(
        t
        if isinstance(t, TargetResult)
        else target_result(t, failed_layer=failures[t][0], failure=failures[t][1])
        if t in failures
        else target_result(t)
        for t in targets
    )
    return Round(
        probe=probe,
        seq=seq,
        started=time.time() if started is None else started,
        clock=ClockInfo(mono=1000.0 + 60 * seq, boot_id="boot-1", synced=synced),
        meta=ProbeMeta(
            country=country, region=region, asn=asn, network=network, access=access, version="0.1.0"
        ),
        targets=results,
        anchors=anchor_results() if anchors is None else tuple(anchors),
        late=late,
    )


def make_status(
    probe: str = "probe-1", state: Literal["online", "offline"] = "online", at: float | None = None
) -> Status:
    return Status(probe=probe, state=state, at=at, version="0.1.0")


def make_heartbeat(
    probe: str = "probe-1", *, last_seq: int = 1, at: float | None = None
) -> Heartbeat:
    return Heartbeat(probe=probe, at=time.time() if at is None else at, last_seq=last_seq)


def message(msg: Round | Status | Heartbeat) -> tuple[str, bytes]:
    """(topic, payload) of `msg`, as the probe publishes it."""
    channel: wire.Channel = (
        "round" if isinstance(msg, Round) else "status" if isinstance(msg, Status) else "heartbeat"
    )
    return wire.topic(msg.probe, channel), wire.encode(msg)
