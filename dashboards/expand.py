"""Grafana's variable interpolation, the part our dashboards use, for `dashboards check`.

`$var`, `${var}`, `${var:regex}`, `${var:raw}`, `[[var]]`, and the built-ins `$timeFilter`,
`$__interval`, `${__from}`, `${__to}` and `${__from:date:seconds}`. A variable set to All
with a custom all value (ours: `.*`) is inserted as it is, like Grafana does; a single
value is regex-escaped where the query asks for `:regex`.
"""

import re
from dataclasses import dataclass
from typing import Final

_VARIABLE = re.compile(
    r"\$(?P<bare>\w+)|\$\{(?P<braced>\w+)(?::(?P<format>[\w:]+))?\}|\[\[(?P<old>\w+)\]\]"
)
# Grafana's regex format escapes these; `/` too, since InfluxQL delimits regexes with it.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_MS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# Grafana's roundInterval: (upper bound of the raw interval, the interval used), in ms.
_ROUNDED: Final = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
)
MAX_DATA_POINTS: Final = 1000  # about a full-width panel


class ExpandError(Exception):
    """The query uses a variable or format this interpolation does not know."""


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    is_all: bool = False


@dataclass(frozen=True, slots=True)
class TimeRange:
    start_ms: int
    end_ms: int


def duration_ms(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise ExpandError(f"not an interval: {text!r}")
    return int(match.group(1)) * _MS[match.group(2)]


def interval_ms(time_range: TimeRange, min_interval: str | None) -> int:
    """$__interval: the range over the data points, rounded, at least the panel's minimum."""
    raw = (time_range.end_ms - time_range.start_ms) / MAX_DATA_POINTS
    rounded = next((used for bound, used in _ROUNDED if raw <= bound), 2_592_000_000)
    return max(rounded, duration_ms(min_interval) if min_interval else 0)


def regex_escape(text: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def expand(
    query: str, values: dict[str, Value], time_range: TimeRange, interval: int | None = None
) -> str:
    builtins = {
        "timeFilter": f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms",
        "__from": str(time_range.start_ms),
        "__to": str(time_range.end_ms),
    }
    if interval is not None:
        builtins["__interval"] = f"{interval}ms"
        builtins["__interval_ms"] = str(interval)

    def one(match: re.Match[str]) -> str:
        name = match.group("bare") or match.group("braced") or match.group("old")
        fmt = match.group("format")
        if name in {"__from", "__to"} and fmt == "date:seconds":
            return str(int(builtins[name]) // 1000)
        if name in builtins and fmt is None:
            return builtins[name]
        if name not in values:
            raise ExpandError(f"unknown variable ${name}")
        value = values[name]
        if value.is_all or fmt in {None, "raw"}:
            return value.text
        if fmt == "regex":
            return regex_escape(value.text)
        raise ExpandError(f"unsupported format ${{{name}:{fmt}}}")

    return _VARIABLE.sub(one, query)
