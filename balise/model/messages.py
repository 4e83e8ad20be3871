"""Wire format v1: the messages probes and collector exchange over MQTT.

See docs/wire-format.md for topics, QoS, retention and the version rules.
Messages are immutable and hold no cycles: `gc=False`, as in results.py.
"""

from typing import Literal

import msgspec

from balise.model.layers import Access
from balise.model.results import AnchorResult, TargetResult

WIRE_MAJOR = 1


class Envelope(msgspec.Struct):
    """Just enough of any message to read its version."""

    v: int


class ClockInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """How far the round's wall-clock time can be trusted.

    A Pi has no real-time clock: after a reboot without NTP its wall clock may be
    far off. `mono` and `boot_id` let the collector order rounds within one boot
    whatever the wall clock says.
    """

    mono: float  # CLOCK_MONOTONIC at round start, seconds
    boot_id: str
    synced: bool  # the system clock is NTP-synchronised
    offset_s: float = 0.0  # a deliberate test offset applied to the wall clock (lab only)


class ProbeMeta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    country: str  # ISO 3166-1 alpha-2
    region: str = ""
    asn: int = 0
    network: str = ""  # the access network's name, e.g. the operator
    access: Access = Access.FIXED
    version: str = ""
    control: bool = False  # a control vantage point outside any censored network


class Round(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One probe round: every target's chain and the anchors, measured together."""

    v: int = WIRE_MAJOR
    probe: str
    seq: int  # per-probe, contiguous from 1
    started: float  # wall-clock unix time at round start
    clock: ClockInfo
    meta: ProbeMeta
    targets: tuple[TargetResult, ...] = ()
    anchors: tuple[AnchorResult, ...] = ()
    late: bool = False  # replayed from the probe's spool after the fact
    # Every round with seq <= floor is acknowledged or was evicted from the probe's spool:
    # the collector's acknowledgements need not wait for them.
    floor: int = 0
    sig: str | None = None  # reserved for the probe's signature


class Status(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Retained online/offline status; the offline one is also the Last Will."""

    v: int = WIRE_MAJOR
    probe: str
    state: Literal["online", "offline"]
    at: float | None = None  # None in the Last Will: the broker sends it, not the probe
    version: str = ""


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    v: int = WIRE_MAJOR
    probe: str
    at: float
    last_seq: int
    backlog: int = 0  # rounds waiting in the probe's spool
    floor: int = 0  # as in Round
    clock_synced: bool = True


class Ack(msgspec.Struct, frozen=True, kw_only=True):
    """The collector has stored every round of this probe up to `seq`."""

    v: int = WIRE_MAJOR
    probe: str
    seq: int
