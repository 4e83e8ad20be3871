"""The committed JSON is what the code generates, and every dashboard keeps the house rules."""

import json
import re
import subprocess
import sys

import pytest

from dashboards import generate, model
from dashboards.names import DATASOURCE_UID

FILTERS = {"country", "region", "asn", "access", "platform"}


def test_committed_files_are_what_the_code_generates():
    stale = [
        str(path.relative_to(model.JSON_DIR.parent))
        for path, text in generate.render().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "stale generated files: run `balise dashboards generate`"


@pytest.fixture(scope="module")
def boards():
    return {path.stem: json.loads(path.read_text()) for path in model.JSON_DIR.glob("*.json")}


def panels(board):
    return [p for p in board["panels"] if p["type"] != "row"]


def test_the_five_dashboards_exist_with_unique_uids(boards):
    assert set(boards) == {"overview", "platforms", "event", "fleet", "throttling"}
    assert len({b["uid"] for b in boards.values()}) == 5


def test_every_panel_has_a_title_a_description_and_influxql_queries(boards):
    for name, board in boards.items():
        for panel in panels(board):
            where = f"{name} / {panel.get('title')}"
            assert panel["title"], where
            assert len(panel.get("description", "")) > 30, where
            assert panel["targets"], where
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID, where
                assert target["rawQuery"] is True, where
                assert target["query"].startswith("SELECT "), where


def test_panels_do_not_overlap(boards):
    for name, board in boards.items():
        cells = set()
        for panel in panels(board):
            g = panel["gridPos"]
            columns, lines = range(g["x"], g["x"] + g["w"]), range(g["y"], g["y"] + g["h"])
            mine = {(x, y) for x in columns for y in lines}
            assert not cells & mine, f"{name} / {panel['title']} overlaps another panel"
            assert g["x"] + g["w"] <= 24
            cells |= mine


def test_filter_variables_and_event_annotations_on_every_filtered_dashboard(boards):
    for name in ("overview", "platforms", "fleet", "throttling"):
        board = boards[name]
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert set(variables) == FILTERS, name
        for variable in variables.values():
            assert variable["query"].startswith("SHOW TAG VALUES FROM ")
            assert variable["includeAll"] is True
            assert variable["allValue"] == ".*"
    for name, board in boards.items():
        annotations = board["annotations"]["list"]
        assert {a["name"] for a in annotations} == {
            "Network shutdown",
            "Service blocked",
            "Throttling",
            "Platform outage",
            "Probe offline",
        }, name
        for annotation in annotations:
            target = annotation["target"]
            assert 'FROM "event"' in target["query"]
            assert target["timeEndColumn"] == "end_ms"
            assert "end_ms" in target["query"]


def test_overview_events_link_to_the_event_dashboard_with_the_event_id(boards):
    event_uid = boards["event"]["uid"]
    table = next(p for p in boards["overview"]["panels"] if p["title"] == "Events")
    links = [
        link["url"]
        for override in table["fieldConfig"]["overrides"]
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    url = f"/d/{event_uid}/{event_uid}?var-event=${{__data.fields.id}}&${{__url_time_range}}"
    assert links == [url]
    # The link reads the `id` column, so the table must keep it under that name.
    organize = next(t for t in table["transformations"] if t["id"] == "organize")
    assert "id" not in organize["options"]["renameByName"]
    assert not organize["options"]["excludeByName"].get("id")
    event_variables = [v["name"] for v in boards["event"]["templating"]["list"]]
    assert event_variables[0] == "event"


def test_platform_states_are_coloured_by_first_failing_layer(boards):
    timeline = next(p for p in boards["platforms"]["panels"] if p["type"] == "state-timeline")
    assert timeline["repeat"] == "platform"
    mappings = timeline["fieldConfig"]["defaults"]["mappings"]
    values = next(m for m in mappings if m["type"] == "value")["options"]
    assert {v: values[v]["color"] for v in values} == {
        "dns": "purple",
        "tcp": "red",
        "tls": "orange",
        "http": "yellow",
    }
    ok = next(m for m in mappings if m["type"] == "special")["options"]
    assert ok["match"] == "null"
    assert ok["result"]["color"] == "green"


def test_alert_rules_query_open_events_of_each_kind():
    rules = model.alert_rules()
    titles = [rule.title for group in rules.groups for rule in group.rules]
    assert len(titles) == 5
    for group in rules.groups:
        for rule in group.rules:
            influx = [q for q in rule.data if q.datasource_uid == DATASOURCE_UID]
            assert len(influx) == 1
            assert re.search(r"\"kind\" = '\w+'", influx[0].model.query)
            assert "\"state\" = 'open'" in influx[0].model.query


def test_docs_list_every_dashboard_and_panel(boards):
    docs = (model.JSON_DIR.parents[1] / "docs" / "dashboards.md").read_text(encoding="utf-8")
    missing = [
        f"{board['title']} / {panel['title']}"
        for board in boards.values()
        for panel in panels(board)
        if f"| {panel['title']} |" not in docs
    ] + [board["uid"] for board in boards.values() if f"`{board['uid']}`" not in docs]
    assert missing == []


def test_check_and_push_do_not_need_the_generator_sdk():
    code = (
        "import sys, dashboards.command, dashboards.check, dashboards.push; "
        "sys.exit('grafana_foundation_sdk' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
