"""Event: one detected event's evidence — what, where, since when, and the measurements
of the probes in its scope. The Overview's events link here with the event's id."""

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import palette
from dashboards.board import dashboard, event_annotations
from dashboards.influxql import InfluxQL
from dashboards.panels import (
    cell_colour_by_value,
    cell_colour_text,
    organize,
    prop,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
)
from dashboards.queries import first_failing_layer, group_by, matches, scope_filter, share_ok
from dashboards.variables import EVENT_TAGS, event_variables

UID = "balise-event"
THE_EVENT = matches("id", "event")
# The probes the event is about: its scope tags; an absent one means all.
SCOPE = scope_filter([(tag, var) for var, tag in EVENT_TAGS if tag != "platform"])
PLATFORM = scope_filter([("target", "event_platform")])


def _summary() -> table.Panel:
    columns = {
        "state": "State",
        "title": "Event",
        "kind": "Kind",
        "method": "Method",
        "since": "Since",
        "until": "Until",
        "duration": "Duration",
        "affected": "Probes affected",
        "total": "Probes in scope",
        "confidence": "Confidence",
        "text": "Details",
    }
    return (
        table_panel(
            "The event",
            "What the detector reported: the disruption, where, since when, how many of the "
            "probes in its scope showed it, and how sure it is.",
            [
                InfluxQL(
                    'SELECT last("state") AS "state", last("title") AS "title", '
                    'last("start") * 1000 AS "since", last("end") * 1000 AS "until", '
                    'last("end") - last("start") AS "duration", last("affected") AS "affected", '
                    'last("total") AS "total", 100 * last("confidence") AS "confidence", '
                    f'last("text") AS "text" FROM "event" WHERE {THE_EVENT} '
                    f"GROUP BY {group_by('kind', 'method')}",
                    table=True,
                )
            ],
            sort_by="Since",
        )
        .transformations([organize(list(columns), columns)])
        .override_by_name(
            "State", [prop("mappings", palette.state_mappings()), cell_colour_by_value()]
        )
        .override_by_name("Kind", [prop("mappings", palette.kind_mappings()), cell_colour_text()])
        .override_by_name(
            "Method", [prop("mappings", palette.method_mappings()), cell_colour_text()]
        )
        .override_by_name("Since", [prop("unit", "dateTimeAsIso")])
        .override_by_name(
            "Until", [prop("unit", "dateTimeAsIso"), prop("mappings", palette.null_as("ongoing"))]
        )
        .override_by_name(
            "Duration", [prop("unit", "s"), prop("mappings", palette.null_as("ongoing"))]
        )
        .override_by_name("Confidence", [prop("unit", "percent"), prop("decimals", 0)])
    )


def _probes(where: str) -> table.Panel:
    columns = {
        "probe": "Probe",
        "country": "Country",
        "network": "Network",
        "access": "Access",
        "measured": "Measurements",
        "failed_share": "Failed",
        "last_failure": "Last failure",
    }
    return (
        table_panel(
            "Probes in the event's scope",
            "Which probes show the disruption: per probe, the share of its measurements (of "
            "the event's platform, or of all platforms) that failed in the selected range, "
            "and its last error.",
            [
                InfluxQL(
                    'SELECT count("ok") AS "measured", '
                    '100 * count("failure") / count("ok") AS "failed_share", '
                    f'last("failure") AS "last_failure" FROM "target" WHERE {where} '
                    f"GROUP BY {group_by('probe', 'country', 'network', 'access')}",
                    table=True,
                )
            ],
            sort_by="Failed",
        )
        .transformations([organize(list(columns), columns)])
        .override_by_name(
            "Failed",
            [
                prop("unit", "percent"),
                prop("decimals", 0),
                prop("mappings", palette.null_as("0%")),
                prop(
                    "thresholds",
                    palette.thresholds(
                        palette.OK, (10.0, palette.DEGRADED), (50.0, palette.BLOCKED)
                    ).build(),
                ),
                prop("color", {"mode": "thresholds"}),
                cell_colour_by_value(),
            ],
        )
    )


def build() -> Dashboard:
    in_scope = f"$timeFilter AND {SCOPE}"
    platform_in_scope = f"{in_scope} AND {PLATFORM}"
    return dashboard(
        UID,
        "Balise: event",
        "One event's evidence: choose an event, or follow a link from the overview.",
        variables=event_variables(),
        annotations=event_annotations(""),
        rows=[
            [(24, 6, _summary())],
            [
                (
                    24,
                    10,
                    state_timeline_panel(
                        "First failing layer, per probe and platform in scope",
                        "How each probe in the event's scope reached the platform (every "
                        "platform, for a shutdown): green when reachable, otherwise the colour "
                        "of the first layer that failed.",
                        [
                            InfluxQL(
                                first_failing_layer(platform_in_scope, ("probe", "target")),
                                alias="$tag_probe · $tag_target",
                            )
                        ],
                    ).mappings(palette.layer_mappings()),
                )
            ],
            [(24, 8, _probes(platform_in_scope))],
            [
                (
                    12,
                    8,
                    timeseries_panel(
                        "Platforms failing, per probe in scope",
                        "How much of each probe's round failed: near 100 % on every probe of a "
                        "network is a shutdown; a gap is a probe that sent nothing.",
                        "percent",
                        [
                            InfluxQL(
                                'SELECT 100 * sum("failed") / sum("targets") FROM "round" '
                                f'WHERE {in_scope} GROUP BY time($__interval), "probe" fill(none)',
                                alias="$tag_probe",
                            )
                        ],
                    )
                    .min(0)
                    .max(100),
                ),
                (
                    12,
                    8,
                    timeseries_panel(
                        "Anchors reachable in scope, by role",
                        "Is the network itself cut? Gateway and resolvers (local network), "
                        "domestic and international hosts, as a share that answered.",
                        "percent",
                        [
                            InfluxQL(
                                share_ok("anchor", in_scope, ("role",), per_interval=True),
                                alias="$tag_role",
                            )
                        ],
                    )
                    .min(0)
                    .max(100),
                ),
            ],
            [
                (
                    12,
                    8,
                    timeseries_panel(
                        "Throughput in scope, per probe",
                        "Is the platform slowed down? Median download speed per probe (of the "
                        "event's platform, or of all platforms).",
                        "Kbits",
                        [
                            InfluxQL(
                                'SELECT median("kbps") FROM "throughput" '
                                f"WHERE {platform_in_scope} "
                                'GROUP BY time($__interval), "probe" fill(none)',
                                alias="$tag_probe",
                            )
                        ],
                    ),
                ),
                (
                    12,
                    8,
                    timeseries_panel(
                        "Rounds received, per probe in scope",
                        "Did the probes keep reporting? Rounds stored per interval; none is a "
                        "probe that was cut off or powered down.",
                        "short",
                        [
                            InfluxQL(
                                'SELECT count("seq") FROM "round" '
                                f'WHERE {in_scope} GROUP BY time($__interval), "probe" fill(0)',
                                alias="$tag_probe",
                            )
                        ],
                        bars=True,
                    ),
                ),
            ],
        ],
    )
