"""`balise dashboards push` against a stand-in for Grafana's HTTP API that checks each
request the way Grafana does (auth, required fields, references between objects)."""

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from balise.cli import main
from dashboards import model
from tests.support.services import free_port

TOKEN = "glsa_test_token"  # noqa: S105 - the stand-in's own token


def refuse(status, message):
    return web.json_response({"message": message}, status=status)


@dataclass
class Grafana:
    """What the stand-in holds, and every request it saw."""

    datasources: dict[str, dict] = field(default_factory=dict)
    folders: dict[str, dict] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)
    rules: dict[str, dict] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.authenticate])
        app.router.add_get("/api/datasources/uid/{uid}", self.get_datasource)
        app.router.add_post("/api/datasources", self.create_datasource)
        app.router.add_put("/api/datasources/uid/{uid}", self.update_datasource)
        app.router.add_get("/api/folders/{uid}", self.get_folder)
        app.router.add_post("/api/folders", self.create_folder)
        app.router.add_post("/api/dashboards/db", self.save_dashboard)
        app.router.add_get("/api/v1/provisioning/alert-rules/{uid}", self.get_rule)
        app.router.add_post("/api/v1/provisioning/alert-rules", self.create_rule)
        app.router.add_put("/api/v1/provisioning/alert-rules/{uid}", self.update_rule)
        return app

    @web.middleware
    async def authenticate(self, request, handler):
        self.requests.append(f"{request.method} {request.path}")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return refuse(401, "Unauthorized")
        return await handler(request)

    async def get_datasource(self, request):
        found = self.datasources.get(request.match_info["uid"])
        return web.json_response(found) if found else refuse(404, "Data source not found")

    async def create_datasource(self, request):
        body = await request.json()
        if not (body.get("type") == "influxdb" and body.get("name") and body.get("url")):
            return refuse(400, "bad data source")
        if body["uid"] in self.datasources:
            return refuse(409, "data source with the same uid already exists")
        self.datasources[body["uid"]] = body
        return web.json_response({"message": "Datasource added", "datasource": body})

    async def update_datasource(self, request):
        uid, body = request.match_info["uid"], await request.json()
        if uid not in self.datasources:
            return refuse(404, "Data source not found")
        if body.get("uid") != uid or body.get("type") != "influxdb":
            return refuse(400, "bad data source")
        self.datasources[uid] = body
        return web.json_response({"message": "Datasource updated"})

    async def get_folder(self, request):
        found = self.folders.get(request.match_info["uid"])
        return web.json_response(found) if found else refuse(404, "folder not found")

    async def create_folder(self, request):
        body = await request.json()
        if body["uid"] in self.folders:
            return refuse(409, "a folder with the same uid already exists")
        self.folders[body["uid"]] = body
        return web.json_response(body)

    async def save_dashboard(self, request):
        body = await request.json()
        board = body.get("dashboard", {})
        if not board.get("uid") or not board.get("title"):
            return refuse(400, "dashboard needs a uid and a title")
        if body.get("folderUid") not in self.folders:
            return refuse(400, "folder not found")
        if board["uid"] in self.dashboards and not body.get("overwrite"):
            return refuse(412, "version-mismatch")
        self.dashboards[board["uid"]] = body
        return web.json_response({"status": "success", "uid": board["uid"]})

    def rule_problem(self, rule):
        refs = {q["refId"] for q in rule["data"]}
        sources = set(self.datasources) | {"__expr__"}
        if rule.get("folderUID") not in self.folders:
            return "folder not found"
        if not rule.get("ruleGroup") or not rule.get("title") or rule["condition"] not in refs:
            return "invalid alert rule"
        if any(q["datasourceUid"] not in sources for q in rule["data"]):
            return "data source not found"
        return None

    async def get_rule(self, request):
        found = self.rules.get(request.match_info["uid"])
        return web.json_response(found) if found else refuse(404, "rule not found")

    async def create_rule(self, request):
        rule = await request.json()
        if problem := self.rule_problem(rule):
            return refuse(400, problem)
        if rule["uid"] in self.rules:
            return refuse(409, "rule exists")
        self.rules[rule["uid"]] = rule
        return web.json_response(rule, status=201)

    async def update_rule(self, request):
        uid, rule = request.match_info["uid"], await request.json()
        if uid not in self.rules:
            return refuse(404, "rule not found")
        if problem := self.rule_problem(rule):
            return refuse(400, problem)
        self.rules[uid] = rule
        return web.json_response(rule)


@pytest.fixture
async def grafana():
    state = Grafana()
    runner = web.AppRunner(state.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def push(url, token=TOKEN):
    argv = ["dashboards", "push", "--grafana-url", url, "--token", token]
    argv += ["--influx-url", "http://influx.example:8086", "--db", "fleet"]
    # grafana-client is synchronous: run it beside the stand-in's event loop.
    return await asyncio.to_thread(main, argv)


def generated_boards():
    return {
        board["uid"]: board
        for board in (json.loads(p.read_text()) for p in model.JSON_DIR.glob("*.json"))
    }


async def test_push_uploads_datasource_folder_dashboards_and_rules(grafana, capsys):
    state, url = grafana
    assert await push(url) == 0
    source = state.datasources["balise-influxdb"]
    assert source["url"] == "http://influx.example:8086"
    assert source["jsonData"]["dbName"] == "fleet"
    assert list(state.folders) == ["balise"]
    assert {uid: body["dashboard"] for uid, body in state.dashboards.items()} == generated_boards()
    assert all(body["folderUid"] == "balise" for body in state.dashboards.values())
    expected_rules = [r.title for g in model.alert_rules().groups for r in g.rules]
    assert sorted(r["title"] for r in state.rules.values()) == sorted(expected_rules)
    out = capsys.readouterr().out
    assert "data source balise-influxdb: created" in out
    assert out.count(": saved") == 5


async def test_pushing_again_updates_instead_of_duplicating(grafana, capsys):
    state, url = grafana
    assert await push(url) == 0
    first = len(state.requests)
    assert await push(url) == 0
    again = state.requests[first:]
    assert "POST /api/datasources" not in again
    assert "POST /api/folders" not in again
    assert "POST /api/v1/provisioning/alert-rules" not in again
    assert "PUT /api/datasources/uid/balise-influxdb" in again
    assert sum(r.startswith("PUT /api/v1/provisioning/alert-rules/") for r in again) == 5
    assert (len(state.dashboards), len(state.rules)) == (5, 5)
    assert "folder balise: exists" in capsys.readouterr().out


async def test_a_wrong_token_fails_and_stores_nothing(grafana, capsys):
    state, url = grafana
    assert await push(url, token="wrong") == 1  # noqa: S106 - a wrong token on purpose
    err = capsys.readouterr().err
    assert "balise dashboards push: data source balise-influxdb:" in err
    assert "401" in err or "Unauthorized" in err
    stored = [state.datasources, state.folders, state.dashboards, state.rules]
    assert stored == [{}, {}, {}, {}]


async def test_an_unreachable_grafana_fails(capsys):
    assert await push(f"http://127.0.0.1:{free_port()}") == 1
    assert "balise dashboards push: data source balise-influxdb:" in capsys.readouterr().err
