"""Overview: where something is wrong now, what, and since when."""

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import palette, queries
from dashboards.board import dashboard, event_annotations
from dashboards.influxql import InfluxQL
from dashboards.panels import (
    cell_colour_by_value,
    cell_colour_text,
    data_link,
    organize,
    prop,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
    transformation,
)
from dashboards.queries import (
    EVENTS_OVERLAPPING,
    LOOKBACK,
    RECENT,
    event_filter,
    group_by,
    platform_filter,
    probe_filter,
    share_ok,
)
from dashboards.variables import filters

UID = "balise-overview"
EVENT_URL = "/d/balise-event/balise-event?var-event=${__data.fields.id}&${__url_time_range}"
NETWORK_TAGS = ("country", "network", "asn", "access")


def _ongoing_events() -> InfluxQL:
    return InfluxQL(
        'SELECT count("state") AS "ongoing" FROM (SELECT last("state") AS "state" FROM "event" '
        f'WHERE {EVENTS_OVERLAPPING} AND {event_filter()} GROUP BY "id") WHERE "state" = \'open\''
    )


def _probes(window: str) -> InfluxQL:
    return InfluxQL(
        'SELECT count("seq") AS "probes" FROM (SELECT last("seq") AS "seq" FROM "round" '
        f'WHERE {window} AND {probe_filter()} GROUP BY "probe")'
    )


def _events_table() -> InfluxQL:
    return InfluxQL(
        'SELECT last("state") AS "state", last("title") AS "title", '
        'last("start") * 1000 AS "since", last("end") - last("start") AS "duration", '
        'last("affected") AS "affected", last("total") AS "total", '
        '100 * last("confidence") AS "confidence" '
        f'FROM "event" WHERE {EVENTS_OVERLAPPING} AND {event_filter()} '
        f"GROUP BY {group_by('id', 'kind', 'platform', 'method', *queries.EVENT_SCOPE_TAGS)}",
        table=True,
    )


def _events_panel() -> table.Panel:
    columns = {
        "state": "State",
        "title": "Event",
        "kind": "Kind",
        "platform": "Platform",
        "method": "Method",
        "country": "Country",
        "region": "Region",
        "asn": "ASN",
        "access": "Access",
        "probe": "Probe",
        "since": "Since",
        "duration": "Duration",
        "affected": "Probes affected",
        "total": "Probes in scope",
        "confidence": "Confidence",
    }
    panel = (
        table_panel(
            "Events",
            "What the detector found, newest first: what is disrupted, where, how and since "
            "when. Click an event for its evidence. An empty place column means everywhere.",
            [_events_table()],
            sort_by="Since",
        )
        .transformations([organize([*columns, "id"], columns)])
        .override_by_name(
            "State", [prop("mappings", palette.state_mappings()), cell_colour_by_value()]
        )
        .override_by_name("Event", [data_link("Show the evidence", EVENT_URL)])
        .override_by_name("Kind", [prop("mappings", palette.kind_mappings()), cell_colour_text()])
        .override_by_name(
            "Method", [prop("mappings", palette.method_mappings()), cell_colour_text()]
        )
        .override_by_name("Since", [prop("unit", "dateTimeFromNow")])
        .override_by_name(
            "Duration", [prop("unit", "s"), prop("mappings", palette.null_as("ongoing"))]
        )
        .override_by_name("Confidence", [prop("unit", "percent"), prop("decimals", 0)])
    )
    for place in ("Platform", "Country", "Region", "ASN", "Access", "Probe"):
        panel = panel.override_by_name(place, [prop("mappings", palette.empty_as("all"))])
    return panel


def _status_table() -> table.Panel:
    where = f"{RECENT} AND {probe_filter()}"
    columns = {
        "country": "Country",
        "network": "Network",
        "asn": "ASN",
        "access": "Access",
        "probes": "Probes reporting",
        "targets": "Platforms reachable",
        "anchors": "Anchors reachable",
    }
    probes = InfluxQL(
        'SELECT count("seq") AS "probes" FROM (SELECT last("seq") AS "seq" FROM "round" '
        f"WHERE {where} GROUP BY {group_by('probe', *NETWORK_TAGS)}) "
        f"GROUP BY {group_by(*NETWORK_TAGS)}",
        ref_id="A",
        table=True,
    )
    targets = InfluxQL(
        share_ok(
            "target",
            f"{where} AND {platform_filter()}",
            NETWORK_TAGS,
            per_interval=False,
            name="targets",
        ),
        ref_id="B",
        table=True,
    )
    anchors = InfluxQL(
        share_ok("anchor", where, NETWORK_TAGS, per_interval=False, name="anchors"),
        ref_id="C",
        table=True,
    )
    panel = table_panel(
        "Status per country and network, last 15 minutes",
        "Is each network working right now? The share of platform measurements that "
        "succeeded, and of anchors (gateway, resolvers, domestic and international hosts) "
        "that answered, over the last 15 minutes of the range. Worst first.",
        [probes, targets, anchors],
        sort_by="Platforms reachable",
        descending=False,
    ).transformations([transformation("merge", {}), organize(list(columns), columns)])
    for name in ("Platforms reachable", "Anchors reachable"):
        panel = panel.override_by_name(
            name,
            [
                prop("unit", "percent"),
                prop("decimals", 0),
                prop("thresholds", palette.reachable_thresholds().build()),
                prop("color", {"mode": "thresholds"}),
                cell_colour_by_value(),
            ],
        )
    return panel


def build() -> Dashboard:
    where = f"$timeFilter AND {probe_filter()}"
    layers = timeseries_panel(
        "Failed measurements by blocking method",
        "How are platforms blocked? Failed measurements counted by the first layer that "
        "failed: DNS tampering, TCP/IP blocking, TLS/SNI filtering or HTTP blocking.",
        "short",
        [
            InfluxQL(
                f'SELECT count("failure") FROM "target" WHERE {where} AND {platform_filter()} '
                'AND "failed_layer" =~ /./ GROUP BY time($__interval), "failed_layer" fill(none)',
                alias="$tag_failed_layer",
            )
        ],
        bars=True,
        stacked=True,
    )
    for layer, (words, colour) in palette.LAYERS.items():
        layers = layers.override_by_name(
            str(layer),
            [prop("displayName", words), prop("color", {"mode": "fixed", "fixedColor": colour})],
        )
    return dashboard(
        UID,
        "Balise: overview",
        "Where is the Internet disrupted right now, what, and since when.",
        variables=filters(),
        annotations=event_annotations(event_filter()),
        rows=[
            [
                (
                    6,
                    5,
                    stat_panel(
                        "Ongoing events",
                        "How many shutdowns, blocks, throttlings and outages are going on now.",
                        "none",
                        _ongoing_events(),
                        palette.count_thresholds(palette.BLOCKED),
                        no_value="0",
                    ),
                ),
                (
                    6,
                    5,
                    stat_panel(
                        "Platform measurements succeeding",
                        "The share of platform measurements that succeeded in the last 15 "
                        "minutes, over all selected networks and platforms.",
                        "percent",
                        InfluxQL(
                            share_ok(
                                "target",
                                f"{RECENT} AND {probe_filter()} AND {platform_filter()}",
                                (),
                                per_interval=False,
                            )
                        ),
                        palette.reachable_thresholds(),
                        no_value="no data",
                    ),
                ),
                (
                    6,
                    5,
                    stat_panel(
                        "Probes reporting",
                        "How many probes sent a round in the last 15 minutes.",
                        "none",
                        _probes(RECENT),
                        palette.thresholds(palette.BLOCKED, (1.0, palette.OK)),
                        no_value="0",
                    ),
                ),
                (
                    6,
                    5,
                    stat_panel(
                        "Probes known",
                        "How many probes sent a round in the last 30 days.",
                        "none",
                        _probes(LOOKBACK),
                        palette.thresholds(palette.UNKNOWN),
                        no_value="0",
                    ),
                ),
            ],
            [(24, 9, _events_panel())],
            [(24, 8, _status_table())],
            [
                (
                    24,
                    10,
                    state_timeline_panel(
                        "Platform measurements succeeding, per network",
                        "Since when is a network disrupted? One row per network: green when "
                        "platforms are reachable, red when most measurements fail. Gaps: no "
                        "round received (yet: cut-off probes send theirs after reconnecting).",
                        [
                            InfluxQL(
                                share_ok(
                                    "target",
                                    f"{where} AND {platform_filter()}",
                                    ("country", "network"),
                                    per_interval=True,
                                ),
                                alias="$tag_country · $tag_network",
                            )
                        ],
                    )
                    .unit("percent")
                    .thresholds(palette.reachable_thresholds()),
                )
            ],
            [
                (12, 8, layers),
                (
                    12,
                    8,
                    timeseries_panel(
                        "Anchors reachable, by role",
                        "Is the network itself cut? The share of anchors that answered: the "
                        "gateway and resolvers (local network), domestic and international "
                        "hosts. International falling alone is an international shutdown.",
                        "percent",
                        [
                            InfluxQL(
                                share_ok("anchor", where, ("role",), per_interval=True),
                                alias="$tag_role",
                            )
                        ],
                    )
                    .min(0)
                    .max(100),
                ),
            ],
        ],
    )
