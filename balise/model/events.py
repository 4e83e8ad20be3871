"""Events the detector reports: kinds, scopes and their lifecycle."""

from enum import StrEnum
from typing import Literal

import msgspec

from balise.model.layers import Access


class EventKind(StrEnum):
    NETWORK_SHUTDOWN = "network_shutdown"
    SERVICE_BLOCK = "service_block"
    THROTTLING = "throttling"
    PLATFORM_OUTAGE = "platform_outage"
    PROBE_OFFLINE = "probe_offline"


ShutdownMethod = Literal["full", "international"]
BlockMethod = Literal["dns", "tcp_ip", "tls", "http"]


class Scope(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The narrowest set of probes an event explains; an unset field selects all."""

    country: str | None = None
    region: str | None = None
    asn: int | None = None
    access: Access | None = None
    probe: str | None = None


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    probes: tuple[str, ...] = ()  # the affected probes
    rounds: tuple[tuple[str, int], ...] = ()  # (probe, seq) of rounds that showed it
    note: str = ""


class Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    kind: EventKind
    state: Literal["open", "closed"]
    scope: Scope
    start: float  # unix time the disruption began (best estimate, may be refined)
    end: float | None = None
    platform: str | None = None
    method: str | None = None
    affected: int = 0
    total: int = 0
    confidence: float = 0.0
    first_emitted: float = 0.0  # when the collector first reported it
    updated: float = 0.0
    evidence: Evidence = Evidence()
