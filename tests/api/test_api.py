"""The HTTP API over a simulated store: events, timeline, probes, measurements, catalog,
errors; and the export's CSV against the API's events."""

import csv
import io
import json

import aiohttp
import pytest

from balise.cli import main


async def get(server, path, **params):
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + path, params=params) as response,
    ):
        return response.status, await response.json()


async def test_events_page_through_every_event(api_server, sim_store):
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        status, body = await get(api_server, "/api/events", **params)
        assert status == 200
        assert len(body["events"]) <= 2
        seen += body["events"]
        cursor = body["next"]
        if cursor is None:
            break
    assert [e["id"] for e in seen] == [
        e.id for e in sorted(sim_store[1], key=lambda e: (e.start, e.id))
    ]
    assert all(e["title"] for e in seen)


async def test_open_events_and_filters(api_server):
    status, body = await get(api_server, "/api/events", state="open")
    assert status == 200
    assert {(e["scope"]["country"], e["platform"]) for e in body["events"]} == {
        ("IR", "signal"),
        ("NC", "tiktok"),
    }
    status, body = await get(api_server, "/api/events", country="ir", platform="signal")
    assert [e["method"] for e in body["events"]] == ["tcp_ip"]


def test_csv_export_equals_api_events(api_server, sim_store, capsys):
    """What a report cites from the file is what the API serves."""
    import asyncio  # noqa: PLC0415

    code = main(["export", "events", "--sqlite", str(sim_store[0])])
    out, _ = capsys.readouterr()
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    _, body = asyncio.run(get(api_server, "/api/events", limit="1000"))
    api_rows = body["events"]
    assert [r["id"] for r in rows] == [e["id"] for e in api_rows]
    for row, event in zip(rows, api_rows, strict=True):
        assert row["kind"] == event["kind"]
        assert row["state"] == event["state"]
        assert float(row["start_unix"]) == event["start"]
        assert (float(row["end_unix"]) if row["end_unix"] else None) == event.get("end")
        assert row["platform"] == (event.get("platform") or "")
        assert row["method"] == (event.get("method") or "")
        assert row["country"] == event["scope"].get("country", "")
        assert row["title"] == event["title"]


async def test_timeline_lanes(api_server):
    status, body = await get(api_server, "/api/timeline", country="IR")
    assert status == 200
    lanes = {lane["lane"]: lane["events"] for lane in body["lanes"]}
    assert set(lanes) == {"IR · signal", "IR · instagram", "IR · whatsapp"}
    assert [e["method"] for e in lanes["IR · instagram"]] == ["tls"]
    assert body["since"] <= min(c["time_unix"] for c in body["changes"])


async def test_probes_filtered_by_network(api_server):
    status, body = await get(api_server, "/api/probes", country="NC", access="mobile")
    assert status == 200
    assert body["probes"]
    assert {p["meta"]["country"] for p in body["probes"]} == {"NC"}
    assert {p["meta"]["access"] for p in body["probes"]} == {"mobile"}


async def test_measurements_pages_are_disjoint_and_ordered(api_server):
    status, first = await get(api_server, "/api/measurements", country="NC", limit="50")
    assert status == 200
    assert len(first["measurements"]) == 50
    _, second = await get(
        api_server, "/api/measurements", country="NC", limit="50", cursor=first["next"]
    )
    keys = [
        (m["time_unix"], m["probe"], m["seq"], m["target"])
        for m in first["measurements"] + second["measurements"]
    ]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert {m["result"]["target"] for m in first["measurements"]} >= {"tiktok"}


async def test_catalog(api_server):
    status, body = await get(api_server, "/api/catalog")
    assert status == 200
    assert "tiktok" in {t["id"] for t in body["targets"]}


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/events", {"since": "last week"}, "since"),
        ("/api/events", {"limit": "0"}, "limit"),
        ("/api/events", {"limit": "abc"}, "limit"),
        ("/api/events", {"state": "gone"}, "state"),
        ("/api/events", {"cursor": "!!"}, "cursor"),
        ("/api/events", {"contry": "IR"}, "contry"),
        ("/api/measurements", {"cursor": "eyJ4IjoxfQ"}, "cursor"),
        ("/api/measurements", {"kind": "throttling"}, "kind"),
        ("/api/measurements", {"asn": "AS99999999999"}, "asn"),
        ("/api/timeline", {"country": "Iran"}, "country"),
        ("/api/probes", {"access": "satellite"}, "access"),
        ("/api/ooni", {"platform": "Bad Name"}, "platform"),
        ("/api/catalog", {"x": "1"}, "x"),
    ],
)
async def test_bad_parameters_get_400_naming_them(api_server, path, params, parameter):
    status, body = await get(api_server, path, **params)
    assert status == 400
    assert body["parameter"] == parameter
    assert repr(parameter) in body["error"]


async def test_openapi_document_is_served(api_server):
    status, body = await get(api_server, "/api/openapi.json")
    assert status == 200
    assert body["openapi"].startswith("3.")
    routes = {"/api/events", "/api/timeline", "/api/probes", "/api/measurements", "/api/ooni",
              "/api/ooni/summary", "/api/catalog", "/api/status", "/api/openapi.json"}  # fmt: skip
    assert set(body["paths"]) == routes
    json.dumps(body)


async def test_probe_meta_keeps_defaults(api_server):
    status, body = await get(api_server, "/api/probes", country="NC", access="fixed")
    assert status == 200
    assert {p["probe"] for p in body["probes"]} == {"nc-fixed-1", "nc-fixed-2"}


async def test_ooni_imports_are_served(shared_dir, tmp_path):
    from balise.config import load_toml  # noqa: PLC0415
    from balise.model.catalog import BUILTIN_CATALOG, Catalog  # noqa: PLC0415
    from collector.ooni.load import import_files  # noqa: PLC0415
    from tests.support.api_server import ApiServer  # noqa: PLC0415

    store = tmp_path / "collector.sqlite3"
    samples = sorted((shared_dir / "ooni-samples").glob("*.json"))
    await import_files(samples, load_toml(BUILTIN_CATALOG, Catalog), store)
    with ApiServer(store) as server:
        status, body = await get(server, "/api/ooni", country="IR")
        assert status == 200
        (iran,) = body["measurements"]
        assert (iran["target"], iran["verdict"]) == ("facebook", "blocking")
        assert iran["result"]["failed_layer"] == "dns"
        seen, cursor = [], None
        while True:
            params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
            _, page = await get(server, "/api/ooni", **params)
            seen += page["measurements"]
            if (cursor := page["next"]) is None:
                break
        assert len(seen) == len(samples)
        _, summary = await get(server, "/api/ooni/summary")
        verdicts = {(r["country"], r["target"]): r["verdict"] for r in summary["summary"]}
        assert verdicts[("AM", "signal")] == "known_bug"
        assert verdicts[("ID", "archive.org")] == "blocking"
