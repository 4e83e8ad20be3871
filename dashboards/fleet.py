"""Fleet: are our probes alive and healthy — online or offline, last seen, spool backlog,
clock quality and software version. Offline here is our equipment, not censorship."""

from grafana_foundation_sdk.builders import piechart, table
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import palette
from dashboards.board import dashboard, event_annotations
from dashboards.influxql import InfluxQL, datasource
from dashboards.names import MIN_INTERVAL
from dashboards.panels import (
    cell_colour_by_value,
    cell_colour_text,
    organize,
    prop,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
    transformation,
)
from dashboards.queries import LOOKBACK, RECENT, event_filter, group_by, probe_filter
from dashboards.variables import filters

UID = "balise-fleet"
LOCATION = ("probe", "country", "region", "network", "asn", "access")


def _probes_table() -> table.Panel:
    columns = {
        "probe": "Probe",
        "state": "Status",
        "last_round": "Last round",
        "country": "Country",
        "region": "Region",
        "network": "Network",
        "asn": "ASN",
        "access": "Access",
        "backlog": "Spool backlog",
        "ntp": "Clock",
        "version": "Version",
        "seq": "Last seq",
    }
    rounds = InfluxQL(
        'SELECT max("received") * 1000 AS "last_round", last("seq") AS "seq", '
        f'last("clock_synced") AS "ntp" FROM "round" WHERE {LOOKBACK} AND {probe_filter()} '
        f"GROUP BY {group_by(*LOCATION)}",
        ref_id="A",
        table=True,
    )
    statuses = InfluxQL(
        'SELECT last("state") AS "state", last("version") AS "version", '
        f'last("backlog") AS "backlog" FROM "probe_status" WHERE {LOOKBACK} GROUP BY "probe"',
        ref_id="B",
        table=True,
    )
    return (
        table_panel(
            "Probes",
            "Every probe that sent a round in the last 30 days: its status (the last "
            "online/offline message), when its last round arrived, where it is, how many "
            "rounds wait in its spool, whether its clock is NTP-synchronised, its version.",
            [rounds, statuses],
            sort_by="Last round",
            descending=False,
        )
        .transformations(
            [
                # Statuses carry only the probe tag: join them to the located rounds.
                transformation("joinByField", {"byField": "probe", "mode": "inner"}),
                organize(list(columns), columns, exclude=("Time", "Time 1", "Time 2")),
            ]
        )
        .override_by_name(
            "Status", [prop("mappings", palette.state_mappings()), cell_colour_by_value()]
        )
        .override_by_name("Last round", [prop("unit", "dateTimeFromNow")])
        .override_by_name(
            "Clock",
            [
                prop(
                    "mappings",
                    palette.bool_mappings(
                        ("NTP synced", palette.OK), ("not synced", palette.DEGRADED)
                    ),
                ),
                cell_colour_text(),
            ],
        )
        .override_by_name(
            "Spool backlog",
            [
                prop("unit", "none"),
                prop(
                    "thresholds", palette.thresholds(palette.OK, (10.0, palette.DEGRADED)).build()
                ),
                prop("color", {"mode": "thresholds"}),
                cell_colour_text(),
            ],
        )
    )


def _versions() -> piechart.Panel:
    return (
        piechart.Panel()
        .title("Software versions")
        .description("Which probe software runs where: probes per version (last 30 days).")
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .with_target(
            InfluxQL(
                'SELECT last("version") AS "version" FROM "probe_status" '
                f'WHERE {LOOKBACK} AND "version" =~ /./ GROUP BY "probe"',
                table=True,
            )
        )
        .transformations(
            [
                transformation(
                    "groupBy",
                    {
                        "fields": {
                            "version": {"operation": "groupby"},
                            "probe": {"operation": "aggregate", "aggregations": ["count"]},
                        }
                    },
                )
            ]
        )
        .reduce_options(ReduceDataOptions().values(True).calcs(["lastNotNull"]))
        .unit("none")
    )


def build() -> Dashboard:
    where = f"$timeFilter AND {probe_filter()}"
    heartbeats = (
        state_timeline_panel(
            "Heartbeats, per probe",
            "Is each probe alive? Heartbeats received per interval: green when some "
            "arrived, red when the probe was silent (power, uplink, or its network cut).",
            [
                InfluxQL(
                    'SELECT count("last_seq") FROM "probe_status" WHERE $timeFilter '
                    'GROUP BY time($__interval), "probe" fill(0)',
                    alias="$tag_probe",
                )
            ],
        )
        .interval("2m")
        .thresholds(palette.thresholds(palette.BLOCKED, (1.0, palette.OK)))
    )
    return dashboard(
        UID,
        "Balise: fleet",
        "Are the probes alive and healthy: status, last seen, spool, clock, version.",
        variables=filters(),
        annotations=event_annotations(event_filter()),
        rows=[
            [
                (
                    6,
                    5,
                    stat_panel(
                        "Probes heard from, last 5 minutes",
                        "How many probes sent a heartbeat in the last 5 minutes of the range.",
                        "none",
                        InfluxQL(
                            'SELECT count("last_seq") FROM (SELECT last("last_seq") AS '
                            '"last_seq" FROM "probe_status" WHERE time >= ${__to}ms - 5m '
                            'AND time <= ${__to}ms GROUP BY "probe")'
                        ),
                        palette.thresholds(palette.BLOCKED, (1.0, palette.OK)),
                        no_value="0",
                    ),
                ),
                (
                    6,
                    5,
                    stat_panel(
                        "Probes reporting rounds, last 15 minutes",
                        "How many probes of the selected networks sent a round lately.",
                        "none",
                        InfluxQL(
                            'SELECT count("seq") FROM (SELECT last("seq") AS "seq" FROM "round" '
                            f'WHERE {RECENT} AND {probe_filter()} GROUP BY "probe")'
                        ),
                        palette.thresholds(palette.BLOCKED, (1.0, palette.OK)),
                        no_value="0",
                    ),
                ),
                (12, 5, _versions()),
            ],
            [(24, 10, _probes_table())],
            [(24, 9, heartbeats)],
            [
                (
                    12,
                    8,
                    timeseries_panel(
                        "Spool backlog, per probe",
                        "Rounds waiting in each probe's spool: it grows while a probe cannot "
                        "reach the collector, and drains after.",
                        "none",
                        [
                            InfluxQL(
                                'SELECT max("backlog") FROM "probe_status" WHERE $timeFilter '
                                'GROUP BY time($__interval), "probe" fill(none)',
                                alias="$tag_probe",
                            )
                        ],
                    ),
                ),
                (
                    12,
                    8,
                    state_timeline_panel(
                        "Clock synchronised (NTP), per probe",
                        "Can each probe's timestamps be trusted? Orange: its clock is not "
                        "NTP-synchronised (a Pi has no real-time clock).",
                        [
                            InfluxQL(
                                'SELECT last("clock_synced") FROM "round" '
                                f'WHERE {where} GROUP BY time($__interval), "probe" fill(none)',
                                alias="$tag_probe",
                            )
                        ],
                    ).mappings(
                        palette.bool_mappings(
                            ("synced", palette.OK), ("not synced", palette.DEGRADED)
                        )
                    ),
                ),
            ],
        ],
    )
