"""Template variables: the filters every dashboard shares, and the Event dashboard's.

Filters are multi-value with an All of `.*`, which also matches a point that lacks the
tag (a probe without a region). The Event dashboard's hidden variables hold one tag of
the chosen event each, empty when the event leaves it out (scope: all).
"""

from typing import Final

from grafana_foundation_sdk.builders.dashboard import QueryVariable
from grafana_foundation_sdk.models.dashboard import (
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from dashboards.influxql import datasource
from dashboards.queries import matches

ALL: Final = ".*"

# (variable, label, measurement, tag, the variables narrowing its values)
FILTERS: Final[tuple[tuple[str, str, str, str, tuple[str, ...]], ...]] = (
    ("country", "Country", "round", "country", ()),
    ("region", "Region", "round", "region", ("country",)),
    ("asn", "ASN", "round", "asn", ("country", "region")),
    ("access", "Access", "round", "access", ()),
    ("platform", "Platform", "target", "target", ()),
)

# Hidden variables of the Event dashboard: (variable, event tag).
EVENT_TAGS: Final = (
    ("event_platform", "platform"),
    ("event_country", "country"),
    ("event_region", "region"),
    ("event_asn", "asn"),
    ("event_access", "access"),
    ("event_probe", "probe"),
)


def _where(narrowed_by: tuple[str, ...]) -> str:
    """Region lists the chosen countries' regions, ASN those of the chosen regions."""
    return " WHERE " + " AND ".join(matches(n, n) for n in narrowed_by) if narrowed_by else ""


def filters() -> list[QueryVariable]:
    return [
        QueryVariable(name)
        .label(label)
        .datasource(datasource())
        .query(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{tag}"{_where(narrowed)}')
        .multi(True)
        .include_all(True)
        .all_value(ALL)
        .current(VariableOption(selected=True, text="All", value="$__all"))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        for name, label, measurement, tag, narrowed in FILTERS
    ]


def event_variables() -> list[QueryVariable]:
    """The event, newest first (ids are `ev-<unix start>-<n>`), and its tags, hidden."""
    event = (
        QueryVariable("event")
        .label("Event")
        .datasource(datasource())
        .query('SHOW TAG VALUES FROM "event" WITH KEY = "id"')
        .multi(False)
        .include_all(False)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_DESC)
    )
    hidden = [
        QueryVariable(name)
        .datasource(datasource())
        .query(f'SHOW TAG VALUES FROM "event" WITH KEY = "{tag}" WHERE {matches("id", "event")}')
        .multi(False)
        .include_all(False)
        .hide(VariableHide.HIDE_VARIABLE)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        for name, tag in EVENT_TAGS
    ]
    return [event, *hidden]
