"""Alert rules: one per event kind, firing while the detector reports such an event open.

The detector decides what is an event; Grafana only forwards it to people (contact
points and notification policies are the operator's, not ours). Labels carry the event's
kind, platform, method and scope, one alert instance per scope.
"""

from typing import Final

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.models.alerting import RelativeTimeRange

from balise.model.events import EventKind
from dashboards.influxql import InfluxQL
from dashboards.names import DATASOURCE_UID, FOLDER_UID
from dashboards.palette import KINDS
from dashboards.queries import EVENT_SCOPE_TAGS, group_by

GROUP: Final = "balise-events"
INTERVAL_S: Final = 60
# An event's point is at its start: look this far back for events still open.
LOOKBACK_S: Final = 30 * 86_400
EXPRESSIONS: Final = "__expr__"
SEVERITY: Final = {
    EventKind.NETWORK_SHUTDOWN: "critical",
    EventKind.SERVICE_BLOCK: "critical",
    EventKind.THROTTLING: "warning",
    EventKind.PLATFORM_OUTAGE: "info",
    EventKind.PROBE_OFFLINE: "info",
}
_LABELS: Final = ("platform", "method", *EVENT_SCOPE_TAGS)


def ongoing_query(kind: EventKind) -> str:
    labels = group_by(*_LABELS)
    return (
        'SELECT count("state") AS "ongoing" FROM (SELECT last("state") AS "state" FROM "event" '
        f'WHERE $timeFilter AND "kind" = \'{kind}\' GROUP BY "id", {labels}) '
        f"WHERE \"state\" = 'open' GROUP BY {labels}"
    )


def rule(kind: EventKind) -> alerting.Rule:
    words = KINDS[kind][0]
    scope = ", ".join(f"{tag} {{{{ $labels.{tag} }}}}" for tag in _LABELS)
    return (
        alerting.Rule(f"Balise: {words.lower()} ongoing")
        .uid(f"balise-{kind}".replace("_", "-"))
        .folder_uid(FOLDER_UID)
        .rule_group(GROUP)
        .org_id(1)
        .condition("C")
        .queries(
            [
                alerting.Query("A")
                .datasource_uid(DATASOURCE_UID)
                .relative_time_range(RelativeTimeRange(from_val=LOOKBACK_S, to=0))
                .model(InfluxQL(ongoing_query(kind), ref_id="A")),
                alerting.Query("B")
                .datasource_uid(EXPRESSIONS)
                .model(expr.TypeReduce().ref_id("B").expression("A").reducer("last")),
                alerting.Query("C")
                .datasource_uid(EXPRESSIONS)
                .model(
                    expr.TypeThreshold()
                    .ref_id("C")
                    .expression("B")
                    .conditions(
                        [
                            expr.ExprTypeThresholdConditions().evaluator(
                                expr.ExprTypeThresholdConditionsEvaluator().type("gt").params([0])
                            )
                        ]
                    )
                ),
            ]
        )
        # No open event is no data: that is the normal, quiet state.
        .no_data_state("OK")
        .exec_err_state("Error")
        .for_val("0s")
        .labels({"severity": SEVERITY[kind], "kind": str(kind)})
        .annotations(
            {
                "summary": f"{words} detected by Balise",
                "description": f"Where and what: {scope}.",
                "__dashboardUid__": "balise-overview",
            }
        )
    )


def rules() -> list[alerting.Rule]:
    return [rule(kind) for kind in EventKind]
