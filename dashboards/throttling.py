"""Throttling: is a platform slowed down, against its usual speed on the same network?

The baseline is the platform's usual download speed on a network: the 90th percentile
of its per-interval medians over the selected range. A range that starts before the
throttling shows it best; a throttle longer than 90 % of the range lowers the baseline.
"""

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import palette
from dashboards.board import dashboard, event_annotations
from dashboards.influxql import InfluxQL
from dashboards.panels import (
    bar_gauge_panel,
    cell_gauge,
    organize,
    prop,
    table_panel,
    timeseries_panel,
)
from dashboards.queries import event_filter, group_by, platform_filter, probe_filter
from dashboards.variables import filters

UID = "balise-throttling"
BY = ("target", "country", "network")
# Throughput is measured every few rounds: a median per 5 minutes is steady enough.
THROUGHPUT_INTERVAL = "5m"


NOW = 'last("kbps")'
BASELINE = 'percentile("kbps", 90)'


def against_baseline(where: str, *, with_speeds: bool) -> str:
    """Per platform and network: the last interval's median against the baseline, in
    percent, and with `with_speeds` the two speeds too."""
    selected = f'100 * {NOW} / {BASELINE} AS "ratio"'
    if with_speeds:
        selected = f'{NOW} AS "now", {BASELINE} AS "baseline", {selected}'
    return (
        f"SELECT {selected} FROM ("
        f'SELECT median("kbps") AS "kbps" FROM "throughput" WHERE {where} '
        f"GROUP BY time($__interval), {group_by(*BY)}) GROUP BY {group_by(*BY)}"
    )


def _table(where: str) -> table.Panel:
    columns = {
        "target": "Platform",
        "country": "Country",
        "network": "Network",
        "now": "Now",
        "baseline": "Baseline",
        "ratio": "Now / baseline",
    }
    return (
        table_panel(
            "Throughput now and baseline, per platform and network",
            "How fast each platform downloads now (median of the last 5 minutes) and "
            "usually (the baseline), per network. Slowest first.",
            [InfluxQL(against_baseline(where, with_speeds=True), table=True)],
            sort_by="Now / baseline",
            descending=False,
        )
        .interval(THROUGHPUT_INTERVAL)
        .transformations([organize(list(columns), columns)])
        .override_by_name("Now", [prop("unit", "Kbits"), prop("decimals", 0)])
        .override_by_name("Baseline", [prop("unit", "Kbits"), prop("decimals", 0)])
        .override_by_name(
            "Now / baseline",
            [
                prop("unit", "percent"),
                prop("decimals", 0),
                prop("min", 0),
                prop("max", 100),
                prop("thresholds", palette.baseline_thresholds().build()),
                prop("color", {"mode": "thresholds"}),
                cell_gauge(),
            ],
        )
    )


def build() -> Dashboard:
    where = f"$timeFilter AND {probe_filter()} AND {platform_filter()}"
    return dashboard(
        UID,
        "Balise: throttling",
        "Are platforms slowed down: throughput against each network's usual speed.",
        variables=filters(),
        annotations=event_annotations(event_filter()),
        rows=[
            [
                (
                    10,
                    12,
                    bar_gauge_panel(
                        "Throughput now, against baseline",
                        "Is a platform slowed down right now? Its speed over the last 5 "
                        "minutes as a share of its usual speed on that network. Red under "
                        "35 %, where the detector reports throttling.",
                        "percent",
                        InfluxQL(
                            against_baseline(where, with_speeds=False),
                            alias="$tag_target · $tag_country $tag_network",
                        ),
                        palette.baseline_thresholds(),
                    )
                    .interval(THROUGHPUT_INTERVAL)
                    .max(100),
                ),
                (14, 12, _table(where)),
            ],
            [
                (
                    24,
                    9,
                    timeseries_panel(
                        "Throughput per platform",
                        "Since when is a platform slow? Median download speed per platform "
                        "over the selected networks.",
                        "Kbits",
                        [
                            InfluxQL(
                                f'SELECT median("kbps") FROM "throughput" WHERE {where} '
                                'GROUP BY time($__interval), "target" fill(none)',
                                alias="$tag_target",
                            )
                        ],
                    ).interval(THROUGHPUT_INTERVAL),
                )
            ],
            [
                (
                    24,
                    9,
                    timeseries_panel(
                        "Throughput per network",
                        "Which networks are slow? Median download speed of the selected "
                        "platforms, per network; all traffic throttled drags every line down.",
                        "Kbits",
                        [
                            InfluxQL(
                                f'SELECT median("kbps") FROM "throughput" WHERE {where} '
                                'GROUP BY time($__interval), "country", "network" fill(none)',
                                alias="$tag_country · $tag_network",
                            )
                        ],
                    ).interval(THROUGHPUT_INTERVAL),
                )
            ],
        ],
    )
