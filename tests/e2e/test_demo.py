"""`balise demo`: the whole pipeline on embedded defaults (in-process broker, SQLite)."""

import json
from pathlib import Path

import msgspec

from balise.demo.run import run_demo
from balise.model.catalog import Anchor, Catalog, Target
from tests.e2e.world import loopback_world
from tests.support.services import free_port


def write_catalog(path: Path, catalog: Catalog) -> Path:
    path.write_bytes(msgspec.toml.encode(msgspec.to_builtins(catalog)))
    return path


async def test_demo_stores_everything_it_measures(tmp_path, capsys):
    async with loopback_world(tmp_path) as world:
        catalog = write_catalog(tmp_path / "catalog.toml", world.catalog)
        status = await run_demo(
            duration_s=6, http_port=free_port(), catalog=catalog, round_s=2, measure=world.measure
        )
    assert status == 0
    summary = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert summary["rounds_measured"] >= 2
    assert summary["results_stored"] == summary["results_measured"] > 0
    assert summary["lost"] == 0
    assert summary["unacknowledged_rounds"] == 0
    assert summary["probe_cut_off"] is False


async def test_a_probe_without_internet_is_called_cut_off_not_blocked(tmp_path, capsys):
    """Every name fails, the control too, and no anchor answers: the probe is cut off."""
    closed = free_port()
    async with loopback_world(tmp_path) as world:
        offline = Catalog(
            targets=(
                Target(id="tiktok", domain="tiktok.invalid"),
                Target(id="signal", domain="signal.invalid"),
                Target(id="control-example", domain="example.invalid", kind="control"),
            ),
            anchors=(Anchor(id="intl", role="international", address="127.0.0.1", port=closed),),
        )
        catalog = write_catalog(tmp_path / "offline.toml", offline)
        await run_demo(
            duration_s=5, http_port=free_port(), catalog=catalog, round_s=1, measure=world.measure
        )
    summary = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert summary["probe_cut_off"] is True
    assert "cut off" in summary["diagnosis"]
    assert "not a block" in summary["diagnosis"]
    assert not [e for e in summary["events"] if e["kind"] == "service_block"]
