"""What one round says: each target's blocking method, the anchors' verdict, its time."""

from balise.model.layers import Layer
from balise.model.messages import Round
from balise.model.results import AnchorResult, TargetResult
from collector.detection.state import FULL, INTERNATIONAL, OK, UPLINK
from collector.timestamps import clock_suspect

# Method codes of service blocks; 0 means "not failing".
METHODS: tuple[str, ...] = ("", "dns", "tcp_ip", "tls", "http")
METHOD_OF_LAYER: dict[str | None, int] = {
    None: 0,
    Layer.DNS: 1,
    Layer.TCP: 2,
    Layer.TLS: 3,
    Layer.HTTP: 4,
}
SHUTDOWN_METHODS: dict[int, str] = {FULL: "full", INTERNATIONAL: "international"}


def round_class(anchors: tuple[AnchorResult, ...], targets: tuple[TargetResult, ...] = ()) -> int:
    """OK, or how the probe was cut off: own uplink, everything, or all but its country.

    The anchors speak first; with no international anchor measured they say nothing.
    When they see no cut yet every control target (a site no censor blocks) fails, the
    probe's own access is broken (a dead resolver, a captive portal): its failures say
    nothing about the platforms.
    """
    by_anchors = _anchor_class(anchors)
    if by_anchors != OK:
        return by_anchors
    controls = [t.failed_layer is None for t in targets if t.control]
    return UPLINK if controls and not any(controls) else OK


def _anchor_class(anchors: tuple[AnchorResult, ...]) -> int:
    gateway = [a.failure is None for a in anchors if a.role == "gateway"]
    international = [a.failure is None for a in anchors if a.role == "international"]
    domestic = [a.failure is None for a in anchors if a.role == "domestic"]
    if gateway and not any(gateway):
        return UPLINK
    if not international or any(international):
        return OK
    if any(domestic):
        return INTERNATIONAL
    return FULL


def placed_time(
    round_: Round, received_at: float, boots: dict[str, float], max_error: float
) -> tuple[float | None, bool]:
    """When the round was measured, and whether the probe's wall clock can be trusted.

    The monotonic clock with the boot's learned offset places a round whatever its
    wall clock says; a wall clock that agrees with it is used as is (it is exact).
    None: nothing trustworthy places it (kept, but it decides nothing).
    """
    offset = boots.get(round_.clock.boot_id)
    started = round_.started
    impossible = clock_suspect(started, received_at)
    if offset is None:  # a late round of a boot never seen live
        return (None, False) if impossible else (started, False)
    by_mono = round_.clock.mono + offset
    if not impossible and abs(started - by_mono) <= max_error:
        return started, True
    return by_mono, False
