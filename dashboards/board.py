"""A Balise dashboard: panels in rows, the filter variables, links to the other Balise
dashboards, and the detector's events as annotations on every time series."""

from collections.abc import Sequence
from typing import Final, Protocol, Self

from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    QueryVariable,
)
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DashboardLinkType, Panel

from dashboards.influxql import InfluxAnnotationTarget, Ready, datasource
from dashboards.palette import KINDS
from dashboards.queries import EVENTS_OVERLAPPING

TAG: Final = "balise"
GRID_WIDTH: Final = 24


class PanelBuilder(Protocol):
    """What every panel builder of the SDK offers."""

    def id(self, id_val: int, /) -> Self: ...
    def span(self, w: int, /) -> Self: ...
    def height(self, h: int, /) -> Self: ...
    def build(self) -> Panel: ...


# (width, height, panel), left to right
Row = Sequence[tuple[int, int, PanelBuilder]]


def event_annotations(where: str) -> list[AnnotationQuery]:
    """One annotation query per event kind, in the kind's colour; `where` narrows them."""
    narrowed = f" AND {where}" if where else ""
    return [
        AnnotationQuery()
        .name(words)
        .datasource(datasource())
        .enable(True)
        .hide(False)
        .icon_color(colour)
        .target(
            Ready(
                InfluxAnnotationTarget(
                    'SELECT "title", "text", "end" * 1000 AS "end_ms", "kind", "platform", '
                    f'"method", "country" FROM "event" WHERE {EVENTS_OVERLAPPING} '
                    f"AND \"kind\" = '{kind}'{narrowed}",
                    title="title",
                    text="text",
                    tags="kind,platform,method,country",
                    time_end="end_ms",
                )
            )
        )
        for kind, (words, colour) in KINDS.items()
    ]


def dashboard(
    uid: str,
    title: str,
    description: str,
    *,
    variables: Sequence[QueryVariable],
    annotations: Sequence[AnnotationQuery],
    rows: Sequence[Row],
) -> Dashboard:
    board = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("utc")
        .time("now-24h", "now")
        .refresh("1m")
        .readonly()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(
            DashboardLink("Balise")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(False)
            .include_vars(True)
            .keep_time(True)
        )
        .variables(list(variables))
        .annotations(list(annotations))
    )
    panel_id = 0
    for row in rows:
        width = sum(w for w, _, _ in row)
        if width != GRID_WIDTH:
            raise ValueError(f"{uid}: a row is {width} wide, not {GRID_WIDTH}")
        for w, h, panel in row:
            panel_id += 1
            # The SDK places each panel after the previous one, wrapping at 24 columns.
            board = board.with_panel(Ready(panel.id(panel_id).span(w).height(h).build()))
    return board
