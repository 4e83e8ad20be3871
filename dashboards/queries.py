"""InfluxQL fragments every dashboard shares; the schema is docs/storage.md.

Grafana expands the `${...}` variables before the query reaches InfluxDB
(dashboards/expand.py does the same for `balise dashboards check`). Every filter is a
regular expression on a tag, so that a variable set to All (`.*`) also matches a point
without that tag.
"""

from collections.abc import Sequence
from typing import Final

# The probe tags a filter variable selects: (tag, variable).
PROBE_FILTERS: Final = (
    ("country", "country"),
    ("region", "region"),
    ("asn", "asn"),
    ("access", "access"),
)

# The tags of an event's scope (absent: all).
EVENT_SCOPE_TAGS: Final = ("country", "region", "asn", "access", "probe")

# "Now" is the end of the selected range: a live dashboard ends at now().
RECENT: Final = "time >= ${__to}ms - 15m AND time <= ${__to}ms"
# Probe statuses and rounds are looked up this far back, so a quiet probe is still listed.
LOOKBACK: Final = "time >= ${__to}ms - 30d AND time <= ${__to}ms"
# An event's point is at its start: look back for events that began before the range and
# were still open, or ended, inside it.
EVENTS_OVERLAPPING: Final = (
    "time >= ${__from}ms - 30d AND time <= ${__to}ms"
    ' AND ("state" = \'open\' OR "end" >= ${__from:date:seconds})'
)


def matches(tag: str, variable: str) -> str:
    return f'"{tag}" =~ /^${{{variable}:regex}}$/'


def probe_filter() -> str:
    """The country, region, ASN and access variables, on a measurement with probe tags."""
    return " AND ".join(matches(tag, var) for tag, var in PROBE_FILTERS)


def platform_filter() -> str:
    return matches("target", "platform")


def event_filter() -> str:
    """The same variables on `event`: an event without a scope tag concerns every value."""
    return (
        " AND ".join(f"({matches(tag, var)} OR \"{tag}\" = '')" for tag, var in PROBE_FILTERS)
        + f" AND ({matches('platform', 'platform')} OR \"platform\" = '')"
    )


def scope_filter(pairs: Sequence[tuple[str, str]]) -> str:
    """Tags equal to hidden variables that may be empty; an empty one selects all.

    InfluxQL compares literals, so `'' =~ /^$/` is true exactly when the variable is empty.
    """
    return " AND ".join(
        f"({matches(tag, var)} OR '' =~ /^${{{var}:regex}}$/)" for tag, var in pairs
    )


def group_by(*tags: str) -> str:
    return ", ".join(f'"{tag}"' for tag in tags)


def share_ok(
    measurement: str, where: str, by: Sequence[str], *, per_interval: bool, name: str = "ok"
) -> str:
    """Percent of points with no `failure`, per group, per interval or over all of `where`.

    A boolean cannot be summed in InfluxQL, and count() of an absent field is null rather
    than 0, so the counts come from a subquery whose `fill(0)` turns "no failure" into 0;
    intervals without any point are dropped (`n` > 0) instead of reading as 0 %.
    """
    inner_by = group_by(*by)
    if per_interval:
        inner = f"time($__interval), {inner_by}" if by else "time($__interval)"
        outer = '100 * ("n" - "failed") / "n"'
        where_outer = ' WHERE "n" > 0'
    else:
        inner = f"time(1h), {inner_by}" if by else "time(1h)"
        outer = '100 * (sum("n") - sum("failed")) / sum("n")'
        where_outer = ""
    outer_by = f" GROUP BY {inner_by}" if by else ""
    return (
        f'SELECT {outer} AS "{name}" FROM ('
        f'SELECT count("ok") AS "n", count("failure") AS "failed" FROM "{measurement}" '
        f"WHERE {where} GROUP BY {inner} fill(0)){where_outer}{outer_by}"
    )


def first_failing_layer(where: str, by: Sequence[str]) -> str:
    """The last measurement's first failing layer per interval; null when it was ok.

    The outer query keeps only the tag: a bare tag cannot be selected without a field.
    """
    return (
        'SELECT "layer" FROM ('
        'SELECT last("ok") AS "ok", "failed_layer" AS "layer" FROM "target" '
        f"WHERE {where} GROUP BY time($__interval), {group_by(*by)} fill(none)"
        f") GROUP BY {group_by(*by)}"
    )
