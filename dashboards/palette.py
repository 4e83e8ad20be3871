"""Colours and words with one meaning on every dashboard.

Green is fine, red is blocked or cut, orange is degraded (slow, unsynchronised clock),
blue is a platform's own outage (not censorship), grey is unknown or our own equipment.
Each blocking method keeps its colour everywhere, so a reader learns it once.
"""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models.dashboard import (
    DashboardSpecialValueMapOptions,
    SpecialValueMap,
    SpecialValueMatch,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMapping,
    ValueMappingResult,
)

from balise.model.events import EventKind
from balise.model.layers import Layer

OK: Final = "green"
BLOCKED: Final = "red"
DEGRADED: Final = "orange"
OUTAGE: Final = "blue"
UNKNOWN: Final = "#8e8e8e"

# The first failing layer is the blocking method.
LAYERS: Final[dict[Layer, tuple[str, str]]] = {
    Layer.DNS: ("DNS tampering", "purple"),
    Layer.TCP: ("TCP/IP blocking", "red"),
    Layer.TLS: ("TLS/SNI filtering", "orange"),
    Layer.HTTP: ("HTTP blocking", "yellow"),
}

KINDS: Final[dict[EventKind, tuple[str, str]]] = {
    EventKind.NETWORK_SHUTDOWN: ("Network shutdown", "dark-red"),
    EventKind.SERVICE_BLOCK: ("Service blocked", BLOCKED),
    EventKind.THROTTLING: ("Throttling", DEGRADED),
    EventKind.PLATFORM_OUTAGE: ("Platform outage", OUTAGE),
    EventKind.PROBE_OFFLINE: ("Probe offline", UNKNOWN),
}

# Event methods (balise.model.events BlockMethod and ShutdownMethod) in words.
METHODS: Final[dict[str, tuple[str, str]]] = {
    "dns": LAYERS[Layer.DNS],
    "tcp_ip": LAYERS[Layer.TCP],
    "tls": LAYERS[Layer.TLS],
    "http": LAYERS[Layer.HTTP],
    "full": ("All traffic", "dark-red"),
    "international": ("International traffic", "dark-red"),
}


def _value_map(pairs: dict[str, tuple[str, str]]) -> ValueMap:
    return ValueMap(
        options={
            value: ValueMappingResult(text=text, color=color, index=i)
            for i, (value, (text, color)) in enumerate(pairs.items())
        }
    )


def _special(match: SpecialValueMatch, text: str, color: str | None = None) -> SpecialValueMap:
    return SpecialValueMap(
        options=DashboardSpecialValueMapOptions(
            match=match, result=ValueMappingResult(text=text, color=color)
        )
    )


def layer_mappings() -> list[ValueMapping]:
    """A first failing layer in words; no failing layer (null) is OK."""
    return [
        _value_map({str(layer): words for layer, words in LAYERS.items()}),
        _special(SpecialValueMatch.NULL, "OK", OK),
    ]


def kind_mappings() -> list[ValueMapping]:
    return [_value_map({str(kind): words for kind, words in KINDS.items()})]


def method_mappings() -> list[ValueMapping]:
    return [_value_map(METHODS)]


def state_mappings() -> list[ValueMapping]:
    """An event's state, and a probe's online state."""
    return [
        _value_map(
            {
                "open": ("Ongoing", BLOCKED),
                "closed": ("Ended", UNKNOWN),
                "online": ("Online", OK),
                "offline": ("Offline", BLOCKED),
            }
        )
    ]


def bool_mappings(true: tuple[str, str], false: tuple[str, str]) -> list[ValueMapping]:
    return [
        _special(SpecialValueMatch.TRUE, *true),
        _special(SpecialValueMatch.FALSE, *false),
    ]


def null_as(text: str) -> list[ValueMapping]:
    return [_special(SpecialValueMatch.NULL, text)]


def empty_as(text: str) -> list[ValueMapping]:
    """An absent tag (an event's scope field left out means all)."""
    return [_special(SpecialValueMatch.EMPTY, text)]


def thresholds(base: str, *steps: tuple[float, str]) -> ThresholdsConfig:
    """`base` colour below the first step; each step's colour from its value up."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [Threshold(value=None, color=base)]
            + [Threshold(value=value, color=color) for value, color in steps]
        )
    )


def reachable_thresholds() -> ThresholdsConfig:
    """A share of measurements that succeeded, in percent."""
    return thresholds(BLOCKED, (50.0, DEGRADED), (90.0, OK))


def baseline_thresholds() -> ThresholdsConfig:
    """Throughput as a percentage of its baseline; 35 % is the detector's throttle ratio."""
    return thresholds(BLOCKED, (35.0, DEGRADED), (70.0, OK))


def count_thresholds(colour: str) -> ThresholdsConfig:
    """Zero is fine; one or more gets `colour`."""
    return thresholds(OK, (1.0, colour))
