"""The OONI importer on real (and OONI-simulated) measurements in ../shared/ooni-samples."""

import gzip
import json
import sqlite3

import pytest

from balise.cli import main
from balise.config import load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog
from collector.ooni import format as ooni_format
from collector.ooni.classify import Classified, classify, digest_of
from collector.ooni.known_bugs import KNOWN_BUGS

IRAN = "web_connectivity_ir_fp.json"
INDONESIA = "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json"
SIGNAL = "signal_2627.json"


@pytest.fixture
def samples(shared_dir):
    return shared_dir / "ooni-samples"


def classified(samples, name) -> Classified:
    catalog = load_toml(BUILTIN_CATALOG, Catalog)
    data = (samples / name).read_bytes()
    return classify(ooni_format.decode(data), catalog, digest=digest_of(data))


def test_iran_is_dns_blocking(samples):
    c = classified(samples, IRAN)
    assert (c.result.failed_layer, c.result.failure) == ("dns", "dns_bogon_error")
    assert c.verdict == "blocking"
    assert c.target == "facebook"
    assert (c.country, c.asn) == ("IR", 197207)
    assert c.ooni_blocking == "dns"  # OONI agrees
    assert c.result.dns[0].answers == ("10.10.34.36",)


def test_indonesia_block_page_is_caught_though_the_probe_said_no(samples):
    c = classified(samples, INDONESIA)
    assert c.ooni_blocking == "false"  # what the probe said
    assert c.verdict == "blocking"
    assert (c.result.failed_layer, c.result.failure) == ("http", "http_request_failed")
    (fetch,) = c.result.http
    assert fetch.url == "http://archive.org"
    assert fetch.redirects == ("http://lamanlabuh.aduankonten.id/",)
    assert fetch.blockpage == "host:lamanlabuh.aduankonten.id"
    assert "block page" in c.reason


def test_signal_ca_bug_is_not_blocking(samples):
    c = classified(samples, SIGNAL)
    assert c.ooni_blocking == "blocked"  # the probe's false positive
    assert (c.result.failed_layer, c.result.failure) == ("tls", "ssl_unknown_authority")
    assert c.verdict == "known_bug"
    assert "ooni/probe#2627" in c.reason
    assert c.target == "signal"


def test_known_bug_rule_is_narrow(samples):
    """The rule names one test and one failure: the same failure on a web_connectivity
    measurement is still blocking."""
    (bug,) = KNOWN_BUGS
    assert (bug.test_name, bug.layer, bug.failure) == ("signal", "tls", "ssl_unknown_authority")
    doc = json.loads((samples / SIGNAL).read_bytes())
    doc["test_name"] = "web_connectivity"
    catalog = load_toml(BUILTIN_CATALOG, Catalog)
    data = json.dumps(doc).encode()
    c = classify(ooni_format.decode(data), catalog, digest=digest_of(data))
    assert c.verdict == "blocking"


@pytest.mark.parametrize(
    ("name", "layer", "failure"),
    [
        ("tlsBlockingConnectionResetWithConsistentDNS.json", "tls", "connection_reset"),
        ("tcpBlockingConnectTimeout.json", "tcp", "generic_timeout_error"),
        ("throttlingWithHTTPS.json", "http", "generic_timeout_error"),
    ],
)
def test_simulated_failures_per_layer(samples, name, layer, failure):
    c = classified(samples, name)
    assert (c.result.failed_layer, c.result.failure) == (layer, failure)
    assert c.verdict == "blocking"


def test_import_stores_and_counts_malformed(samples, tmp_path, capsys):
    lines = [
        json.dumps(json.loads((samples / name).read_bytes())) for name in (IRAN, INDONESIA, SIGNAL)
    ]
    jsonl = tmp_path / "ooni.jsonl.gz"
    with gzip.open(jsonl, "wt") as f:
        f.write("\n".join([lines[0], "{not json", lines[1], '{"test_keys": 5}', lines[2]]) + "\n")
    store = tmp_path / "collector.sqlite3"
    code = main(["import", "ooni", str(jsonl), str(samples / IRAN), "--sqlite", str(store)])
    _, err = capsys.readouterr()
    assert code == 1  # some lines were malformed
    assert f"{jsonl}:2" in err
    assert f"{jsonl}:4" in err
    assert "6 read, 4 stored (3 blocking, 1 known_bug), 2 malformed" in err
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT country, target, failed_layer, verdict FROM imported").fetchall()
    assert sorted(rows) == [  # the Iran measurement twice is one row
        ("AM", "signal", "tls", "known_bug"),
        ("ID", "archive.org", "http", "blocking"),
        ("IR", "facebook", "dns", "blocking"),
    ]


def test_dry_run_lists_and_stores_nothing(samples, capsys):
    code = main(["import", "ooni", "--dry-run", str(samples / INDONESIA)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "lamanlabuh.aduankonten.id" in out
    assert "-> blocking" in out
    assert "1 read, 0 stored (1 blocking)" in err
