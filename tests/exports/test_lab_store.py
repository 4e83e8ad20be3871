"""`balise lab run --keep-sqlite DIR` leaves a store that `balise export` reads."""

import csv
import io

from balise.cli import main
from tests.support.sim_store import SCENARIOS


def test_lab_run_keeps_a_store_to_export(tmp_path, capsys):
    keep = tmp_path / "stores"
    scenario = SCENARIOS / "nc-tiktok-mobile-dns.toml"
    assert main(["lab", "run", "--mode", "sim", "--keep-sqlite", str(keep), str(scenario)]) == 0
    capsys.readouterr()
    store = keep / "nc-tiktok-mobile-dns.sqlite3"
    assert main(["export", "events", "--sqlite", str(store)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["kind"], r["platform"], r["method"], r["country"]) for r in rows] == [
        ("service_block", "tiktok", "dns", "NC")
    ]
