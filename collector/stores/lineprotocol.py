"""Messages and events as InfluxDB line protocol; the schema is docs/storage.md.

Every point is keyed (measurement, tags, timestamp) by what identifies the
measurement, never by when it arrived, so a re-delivered round rewrites the
same points instead of adding new ones.

Timestamps are microseconds. A round is stored at the time ingest placed it
(collector.clocks): its trusted wall clock, or its boot's monotonic clock, so
rounds a probe replays in a burst after a reboot without NTP keep their spacing
and a re-delivery lands on the same points (docs/durability.md).
"""

import math
from collections.abc import Sequence
from typing import Final, TypeVar

from balise.model.events import Event
from balise.model.messages import Heartbeat, ProbeMeta, Round, Status
from balise.model.results import AnchorResult, TargetResult
from collector import eventtext
from collector.received import Received
from collector.stores.summary import chain_ok, duration_ms, http_status
from collector.timestamps import Placement, placed_without_history, storage_time

# InfluxDB 1.x calls the unit "u", 2.x "us".
PRECISION_V1: Final = "u"
PRECISION_V2: Final = "us"

FieldValue = str | bool | int | float | None
K = TypeVar("K")
V = TypeVar("V")


# InfluxDB 1.x reads a backslash in a tag as itself, unless it escapes `,`, `=` or
# a space; no line may contain a newline.
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\ ", "\r": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": " ", "\r": " "})


def lines(batch: Sequence[Received]) -> str:
    """`batch` as line protocol, by an encoder of its own (see `LineEncoder`)."""
    return LineEncoder().lines(batch)


def round_lines(round_: Round, received_at: float, placement: Placement | None = None) -> list[str]:
    return LineEncoder().round_lines(round_, received_at, placement)


class LineEncoder:
    """Line protocol for batches of messages, one encoder per store.

    A point's key is mostly the same round after round: the probe's tags (from its
    `meta`), a target's, an anchor's. The encoder keeps them escaped, a probe's for as
    long as its `meta` stays the same, so that each result costs only its own fields
    (docs/performance.md). Each memo is emptied when it reaches `memo_size` entries:
    names in messages cannot grow it without bound.
    """

    __slots__ = ("_anchors", "_memo_size", "_probes", "_targets")

    def __init__(self, *, memo_size: int = 100_000) -> None:
        self._memo_size = memo_size
        self._probes: dict[str, tuple[ProbeMeta, str]] = {}
        self._targets: dict[str, str] = {}
        self._anchors: dict[tuple[str, str, str], str] = {}

    def lines(self, batch: Sequence[Received]) -> str:
        out: list[str] = []
        for item in batch:
            message = item.message
            if isinstance(message, Round):
                out += self.round_lines(message, item.received_at, item.placement)
            elif isinstance(message, Status):
                out.append(status_line(message, item.received_at))
            else:
                out.append(heartbeat_line(message, item.received_at))
        return "\n".join(out)

    def round_lines(
        self, round_: Round, received_at: float, placement: Placement | None = None
    ) -> list[str]:
        """One `round` point, and one `target`, `throughput` or `anchor` point per result."""
        placed = placement or placed_without_history(round_, received_at)
        probe_tags = self._probe_tags(round_.probe, round_.meta)
        # The round's own fields (seq, late, clock_suspect) are on its `round` point only:
        # InfluxDB's cost is per field value, and a result's points share the round's time.
        tail = f" {_us(placed.at)}"
        out = [
            f"round{probe_tags} "
            + fields(
                targets=len(round_.targets),
                failed=sum(not chain_ok(t) for t in round_.targets),
                anchors_failed=sum(a.failure is not None for a in round_.anchors),
                clock_synced=round_.clock.synced,
                started=round_.started,
                received=received_at,
                seq=round_.seq,
                late=round_.late,
                clock_suspect=not placed.wall_clock,
            )
            + tail
        ]
        for result in round_.targets:
            target_tags = probe_tags + self._target_tag(result.target)
            layer = result.failed_layer
            layer_tag = f",failed_layer={layer.value}" if layer is not None else ""  # plain words
            out.append(f"target{target_tags}{layer_tag} {_target_fields(result)}{tail}")
            if (tp := result.throughput) is not None:
                out.append(
                    f"throughput{target_tags} "
                    + fields(
                        ok=tp.failure is None,
                        failure=tp.failure,
                        kbps=tp.kbps,
                        bytes=tp.bytes,
                        duration_ms=duration_ms(tp.t0, tp.t),
                    )
                    + tail
                )
        out.extend(
            f"anchor{probe_tags}{self._anchor_tags(anchor)} "
            + fields(ok=anchor.failure is None, failure=anchor.failure, rtt_ms=anchor.rtt_ms)
            + tail
            for anchor in round_.anchors
        )
        return out

    def _probe_tags(self, probe: str, meta: ProbeMeta) -> str:
        known = self._probes.get(probe)
        if known is not None and known[0] == meta:
            return known[1]
        probe_tags = tags(
            probe=probe,
            country=meta.country,
            region=meta.region,
            asn=str(meta.asn) if meta.asn else None,
            access=meta.access.value,
            network=meta.network,
        )
        self._remember(self._probes, probe, (meta, probe_tags))
        return probe_tags

    def _target_tag(self, target: str) -> str:
        tag = self._targets.get(target)
        if tag is None:
            tag = self._remember(self._targets, target, _tag("target", target))
        return tag

    def _anchor_tags(self, anchor: AnchorResult) -> str:
        key = (anchor.anchor, anchor.role, anchor.method)
        anchor_tags = self._anchors.get(key)
        if anchor_tags is None:
            made = tags(anchor=anchor.anchor, role=anchor.role, method=anchor.method)
            anchor_tags = self._remember(self._anchors, key, made)
        return anchor_tags

    def _remember(self, memo: dict[K, V], key: K, value: V) -> V:
        if len(memo) >= self._memo_size:
            memo.clear()
        memo[key] = value
        return value


def _target_fields(result: TargetResult) -> str:
    """The `target` point's fields, as `fields` would write them, without its generality:
    this runs once per result, the collector's hottest path (docs/performance.md).

    A flag (`truncated`, `dns_bogon`, `blockpage`) is written only when true: most results
    have none, and InfluxDB's cost is per field value."""
    parts = ["ok=true" if chain_ok(result) else "ok=false"]
    if result.failure is not None:
        parts.append(f'failure="{result.failure.translate(_STRING_ESCAPES)}"')
    if result.truncated:
        parts.append("truncated=true")
    for name, steps in (
        ("dns_ms", result.dns),
        ("tcp_ms", result.tcp),
        ("tls_ms", result.tls),
        ("http_ms", result.http),
    ):
        if steps and (ms := _float(duration_ms(steps[0].t0, steps[0].t))) is not None:
            parts.append(f"{name}={ms}")
    if (status := http_status(result)) is not None:
        parts.append(f"http_status={status}i")
    if any(d.bogon for d in result.dns):
        parts.append("dns_bogon=true")
    if any(h.blockpage for h in result.http):
        parts.append("blockpage=true")
    return ",".join(parts)


def status_line(status: Status, received_at: float) -> str:
    at = received_at if status.at is None else storage_time(status.at, received_at)
    return (
        f"probe_status{tags(probe=status.probe)} "
        + fields(online=status.state == "online", state=status.state, version=status.version)
        + f" {_us(at)}"
    )


def heartbeat_line(heartbeat: Heartbeat, received_at: float) -> str:
    return (
        f"probe_status{tags(probe=heartbeat.probe)} "
        + fields(
            last_seq=heartbeat.last_seq,
            backlog=heartbeat.backlog,
            clock_synced=heartbeat.clock_synced,
        )
        + f" {_us(storage_time(heartbeat.at, received_at))}"
    )


def event_line(event: Event) -> str:
    """One point per event, at its start: a later version of the event overwrites it."""
    scope = event.scope
    return (
        "event"
        + tags(
            id=event.id,
            kind=event.kind.value,
            platform=event.platform,
            method=event.method,
            country=scope.country,
            region=scope.region,
            asn=str(scope.asn) if scope.asn else None,
            access=scope.access.value if scope.access else None,
            probe=scope.probe,
        )
        + " "
        + fields(
            state=event.state,
            title=eventtext.title(event),
            text=eventtext.text(event),
            start=event.start,
            end=event.end,
            confidence=event.confidence,
            affected=event.affected,
            total=event.total,
            updated=event.updated,
        )
        + f" {_us(event.start)}"
    )


def tags(**pairs: str | None) -> str:
    """`,k=v` for each pair with a value, escaped; an empty or None value is left out."""
    return "".join(_tag(key, value) for key, value in pairs.items())


def _tag(key: str, value: str | None) -> str:
    if not value:
        return ""
    # A trailing backslash would escape the separator after it: InfluxDB cannot take it.
    escaped = value.translate(_TAG_ESCAPES).rstrip("\\")
    return f",{key}={escaped}" if escaped else ""


def fields(**pairs: FieldValue) -> str:
    """`k=v,...` typed the line-protocol way; None, NaN and infinities are left out."""
    return ",".join(
        f"{key}={rendered}"
        for key, value in pairs.items()
        if (rendered := field_value(value)) is not None
    )


def field_value(value: FieldValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return _float(value)
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def _float(value: float) -> str | None:
    return repr(value) if math.isfinite(value) else None


def _us(t: float) -> int:
    return round(t * 1_000_000.0)
