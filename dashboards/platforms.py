"""Platforms: which platform is blocked on which network, and how (the first failing
layer) — per probe and over time, which no public dashboard shows today."""

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import palette
from dashboards.board import dashboard, event_annotations
from dashboards.influxql import InfluxQL
from dashboards.panels import (
    bar_gauge_panel,
    cell_colour_by_value,
    organize,
    prop,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
)
from dashboards.queries import (
    RECENT,
    event_filter,
    first_failing_layer,
    group_by,
    platform_filter,
    probe_filter,
    share_ok,
)
from dashboards.variables import filters

UID = "balise-platforms"


def _blocking_table(where: str) -> table.Panel:
    columns = {
        "target": "Platform",
        "country": "Country",
        "network": "Network",
        "failed_layer": "Method",
        "probes": "Probes",
        "failures": "Failed measurements",
        "last_failure": "Last failure",
    }
    by = ("target", "country", "network", "failed_layer")
    return (
        table_panel(
            "Blocking seen in the selected range",
            "Which platform fails on which network, and how: failed measurements grouped by "
            "the first failing layer, with the last failure's error (OONI vocabulary).",
            [
                InfluxQL(
                    'SELECT sum("failures") AS "failures", count("failures") AS "probes", '
                    'last("last_failure") AS "last_failure" FROM ('
                    'SELECT count("failure") AS "failures", last("failure") AS "last_failure" '
                    f'FROM "target" WHERE {where} AND "failed_layer" =~ /./ '
                    f"GROUP BY {group_by('probe', *by)}) GROUP BY {group_by(*by)}",
                    table=True,
                )
            ],
            sort_by="Failed measurements",
        )
        .transformations([organize(list(columns), columns)])
        .override_by_name(
            "Method", [prop("mappings", palette.layer_mappings()), cell_colour_by_value()]
        )
    )


def build() -> Dashboard:
    where = f"$timeFilter AND {probe_filter()} AND {platform_filter()}"
    timeline = (
        state_timeline_panel(
            "$platform: first failing layer, per probe",
            "Since when, where and how is this platform blocked? One row per probe: green "
            "when reachable, otherwise the colour of the layer that failed first (DNS "
            "tampering, TCP/IP blocking, TLS/SNI filtering, HTTP blocking).",
            [InfluxQL(first_failing_layer(where, ("probe", "target")), alias="$tag_probe")],
        )
        .repeat("platform")
        .repeat_direction("v")
        .mappings(palette.layer_mappings())
    )
    return dashboard(
        UID,
        "Balise: platforms",
        "Which platforms are blocked on which networks, and how.",
        variables=filters(),
        annotations=event_annotations(event_filter()),
        rows=[
            [
                (
                    8,
                    10,
                    bar_gauge_panel(
                        "Platforms reachable, last 15 minutes",
                        "Is each platform reachable right now? The share of its measurements "
                        "that succeeded over the selected networks.",
                        "percent",
                        InfluxQL(
                            share_ok(
                                "target",
                                f"{RECENT} AND {probe_filter()} AND {platform_filter()}",
                                ("target",),
                                per_interval=False,
                            ),
                            alias="$tag_target",
                        ),
                        palette.reachable_thresholds(),
                    ).max(100),
                ),
                (16, 10, _blocking_table(where)),
            ],
            [
                (
                    24,
                    9,
                    timeseries_panel(
                        "Platforms reachable over time",
                        "When did a platform become unreachable? The share of its "
                        "measurements that succeeded, per platform.",
                        "percent",
                        [
                            InfluxQL(
                                share_ok("target", where, ("target",), per_interval=True),
                                alias="$tag_target",
                            )
                        ],
                    )
                    .min(0)
                    .max(100),
                )
            ],
            [(24, 10, timeline)],
        ],
    )
