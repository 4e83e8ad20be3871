"""Exports of a simulated store: CSV, JSON, STOP columns, timeline, OONI JSONL, pictures."""

import asyncio
import csv
import io
import json
import sqlite3
import struct

import numpy as np
import pytest
from matplotlib.image import imread

from balise.cli import EXPORT_FORMATS, main
from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from collector.exports.query import Query, parse_query
from collector.exports.run import FORMATS
from collector.exports.source import StoreSource
from collector.ooni import format as ooni_format
from collector.ooni.classify import classify, digest_of
from collector.stores.sqlite import SqliteStore


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_formats_match_the_exporter():
    assert EXPORT_FORMATS == FORMATS


def test_events_csv_has_every_simulated_event(sqlite_file, sim_store, capsys):
    code, out, _ = run(capsys, "export", "events", "--sqlite", str(sqlite_file))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    events = sim_store[1]
    assert sorted(r["id"] for r in rows) == sorted(e.id for e in events)
    by_id = {e.id: e for e in events}
    for row in rows:
        event = by_id[row["id"]]
        assert row["kind"] == event.kind.value
        assert float(row["start_unix"]) == event.start
        assert row["state"] == event.state
        assert row["end_utc"] == ("" if event.end is None else row["end_utc"])
        assert row["start_utc"].endswith("Z")


def test_filters_select_events(sqlite_file, sim_store, capsys):
    code, out, _ = run(
        capsys, "export", "events", "--sqlite", str(sqlite_file), "--format", "json",
        "--country", "ir", "--kind", "service_block",
    )  # fmt: skip
    assert code == 0
    events = json.loads(out)
    expected = {e.id for e in sim_store[1] if e.scope.country == "IR" and e.kind == "service_block"}
    assert {e["id"] for e in events} == expected
    assert len(expected) == 3  # instagram, whatsapp, signal
    code, out, _ = run(
        capsys, "export", "events", "--sqlite", str(sqlite_file), "--format", "json",
        "--access", "mobile", "--platform", "tiktok",
    )  # fmt: skip
    assert [e["scope"] for e in json.loads(out)] == [{"country": "NC", "access": "mobile"}]


def test_time_range_selects_overlapping_events(sqlite_file, sim_store, capsys):
    events = sim_store[1]
    curfews = sorted((e for e in events if e.scope.country == "MM"), key=lambda e: e.start)
    gap = (curfews[0].end + curfews[1].start) / 2
    since = _iso(gap - 1)
    until = _iso(gap + 1)
    code, out, _ = run(
        capsys, "export", "events", "--sqlite", str(sqlite_file), "--format", "json",
        "--country", "MM", "--since", since, "--until", until,
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == []  # between the two curfews
    code, out, _ = run(
        capsys, "export", "events", "--sqlite", str(sqlite_file), "--format", "json",
        "--country", "MM", "--since", since,
    )  # fmt: skip
    assert [e["id"] for e in json.loads(out)] == [curfews[1].id]


def _iso(t):
    import datetime as dt  # noqa: PLC0415

    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


@pytest.mark.parametrize(
    ("argv", "parameter"),
    [
        (("--since", "yesterday"), "since"),
        (("--country", "IRN"), "country"),
        (("--asn", "AS-1"), "asn"),
        (("--kind", "outage"), "kind"),
        (("--access", "satellite"), "access"),
        (("--since", "2025-06-02", "--until", "2025-06-01"), "until"),
    ],
)
def test_bad_filters_are_named(sqlite_file, capsys, argv, parameter):
    code, _, err = run(capsys, "export", "events", "--sqlite", str(sqlite_file), *argv)
    assert code == 2
    assert f"parameter {parameter!r}" in err


def test_missing_store_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "export", "events", "--sqlite", str(tmp_path / "none.sqlite3"))
    assert code == 2
    assert "no SQLite store" in err


def test_stop_columns_map_kinds_and_scopes(sqlite_file, capsys):
    code, out, _ = run(capsys, "export", "events", "--sqlite", str(sqlite_file), "--format", "stop")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:14] == [
        "start_date", "end_date", "country", "geo_scope", "area_name", "shutdown_type",
        "affected_network", "shutdown_extent", "facebook_affected", "twitter_affected",
        "whatsapp_affected", "instagram_affected", "telegram_affected", "other_affected",
    ]  # fmt: skip
    shutdowns = [r for r in rows if r["country"] == "MM"]
    assert len(shutdowns) == 2
    assert {r["shutdown_type"] for r in shutdowns} == {"Full network"}
    assert {r["shutdown_extent"] for r in shutdowns} == {"Full"}
    assert all(r[f"{p}_affected"] == "Yes" for r in shutdowns for p in ("facebook", "whatsapp"))
    (tiktok,) = [r for r in rows if r["country"] == "NC"]
    assert tiktok["shutdown_type"] == "Service-based"
    assert tiktok["affected_network"] == "Mobile"
    assert tiktok["other_affected"] == "tiktok"
    assert tiktok["facebook_affected"] == "No"
    assert tiktok["blocking_method"] == "DNS tampering"
    assert tiktok["ongoing"] == "Yes"
    assert tiktok["end_date"] == ""
    (throttle,) = [r for r in rows if r["country"] == "RU"]
    assert throttle["shutdown_type"] == "Throttling"
    assert throttle["twitter_affected"] == "Yes"
    assert throttle["whatsapp_affected"] == "No"


def test_timeline_csv_is_in_time_order(sqlite_file, sim_store, capsys):
    code, out, _ = run(capsys, "export", "timeline", "--sqlite", str(sqlite_file))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    times = [float(r["time_unix"]) for r in rows]
    assert times == sorted(times)
    events = sim_store[1]
    assert sum(r["change"] == "began" for r in rows) == len(events)
    assert sum(r["change"] == "ended" for r in rows) == sum(e.end is not None for e in events)


def test_png_timeline_is_a_real_picture(sqlite_file, tmp_path, capsys):
    out = tmp_path / "timeline.png"
    code, _, _ = run(
        capsys,
        "export",
        "timeline",
        "--sqlite",
        str(sqlite_file),
        "--format",
        "png",
        "-o",
        str(out),
    )
    assert code == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1200
    assert 400 <= height <= 2000
    pixels = imread(out)[..., :3]
    not_white = np.any(pixels < 0.95, axis=-1).mean()
    assert 0.05 < not_white < 0.8  # bars, labels and axes; not blank, not a solid block
    bytes_ = np.round(pixels * 255).astype(int)
    vermillion = np.all(bytes_ == (0xD5, 0x5E, 0x00), axis=-1).mean()
    assert vermillion > 0.01  # the network shutdowns are drawn in their kind's colour


def test_svg_timeline_names_lanes_and_kinds(sqlite_file, tmp_path, capsys):
    out = tmp_path / "timeline.svg"
    code, _, _ = run(
        capsys,
        "export",
        "timeline",
        "--sqlite",
        str(sqlite_file),
        "--format",
        "svg",
        "-o",
        str(out),
    )
    assert code == 0
    text = out.read_text()
    assert text.lstrip().startswith("<?xml")
    assert "<svg" in text
    for words in ("Time (UTC)", "Network shutdown", "Service blocked", "Throttling"):
        assert words in text


def test_picture_needs_an_output_file(sqlite_file, capsys):
    code, _, err = run(
        capsys, "export", "timeline", "--sqlite", str(sqlite_file), "--format", "png"
    )
    assert code == 2
    assert "--output" in err


def test_measurements_csv_has_one_row_per_result(sqlite_file, capsys):
    code, out, _ = run(capsys, "export", "measurements", "--sqlite", str(sqlite_file))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    with sqlite3.connect(sqlite_file) as db:
        (count,) = db.execute("SELECT count(*) FROM results").fetchone()
        (failed,) = db.execute("SELECT count(*) FROM results WHERE failed_layer = 'dns'").fetchone()
    assert len(rows) == count
    assert sum(r["failed_layer"] == "dns" for r in rows) == failed > 0


async def test_pages_stream_the_same_rows_as_one_read(sqlite_file):
    store = SqliteStore(sqlite_file)
    try:
        source = StoreSource(store)
        query = parse_query({"country": "NC"})
        small = [m async for m in source.measurements(query, page=7)]
        large = [m async for m in source.measurements(query, page=100_000)]
        assert small == large
        assert len(small) == await source.count_measurements(query)
        keys = [(m.time, m.probe, m.seq, m.result.target) for m in small]
        assert keys == sorted(keys)
        assert len(set(keys)) == len(keys)
    finally:
        await store.close()


async def _measurements(sqlite_file, query):
    store = SqliteStore(sqlite_file)
    try:
        return [m async for m in StoreSource(store).measurements(query)]
    finally:
        await store.close()


def test_ooni_jsonl_reads_back_into_the_same_outcome(sqlite_file, tmp_path, capsys):
    """Each exported OONI measurement, classified by the importer, fails at the same layer
    with the same failure as the probe recorded."""
    out = tmp_path / "m.jsonl"
    code = main(["export", "measurements", "--sqlite", str(sqlite_file), "--format", "ooni",
                 "--country", "NC", "-o", str(out)])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    catalog = load_toml(BUILTIN_CATALOG, Catalog)
    originals = asyncio.run(_measurements(sqlite_file, Query(country="NC")))
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(originals)
    failing = 0
    for line, original in zip(lines, originals, strict=True):
        doc = json.loads(line)
        assert doc["data_format_version"] == "0.2.0"
        assert doc["probe_cc"] == "NC"
        assert doc["test_keys"]["queries"][0]["hostname"]
        back = classify(ooni_format.decode(line), catalog, digest=digest_of(line)).result
        assert (back.failed_layer, back.failure) == (
            original.result.failed_layer,
            original.result.failure,
        ), doc["report_id"]
        failing += original.result.failed_layer is not None
    assert failing > 0
