"""Scenario files: the public suite parses; every kind of mistake names the file and the key."""

from pathlib import Path

import pytest

from balise.lab import scenario
from balise.lab.scenario import BlockDns, ScenarioError, Shutdown

SUITE = Path(__file__).resolve().parents[1] / "scenarios"

MINIMAL = """
format = 1
name = "t"
round_s = 10
duration_s = 100

[[network]]
name = "net"
asn = 64500
country = "NC"
access = "mobile"

[[probe]]
id = "p1"
network = "net"
"""


def test_every_public_scenario_parses():
    files = sorted(SUITE.glob("*.toml"))
    assert len(files) >= 15
    names = [scenario.load(f).name for f in files]
    assert len(set(names)) == len(names)
    assert names == [f.stem for f in files]  # one file per scenario, named after it


def test_actions_decode_by_kind():
    s = scenario.parse(
        MINIMAL
        + """
[[action]]
kind = "block_dns"
mode = "bogon"
platforms = ["tiktok"]
at_s = 10

[[action]]
kind = "shutdown"
mode = "international"
at_s = 20
until_s = 50
""",
        source="x.toml",
    )
    dns, cut = s.action
    assert isinstance(dns, BlockDns)
    assert dns.mode == "bogon"
    assert isinstance(cut, Shutdown)
    assert (cut.at_s, cut.until_s) == (20, 50)
    assert s.tolerance(scenario.Expect(kind="network_shutdown", start_s=0)) == 25


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('colour = "red"\n', "colour"),
        ('[[action]]\nkind = "explode"\nat_s = 1\n', "action"),
        (
            '[[action]]\nkind = "block_ip"\nmode = "drop"\nplatforms = ["myspace"]\nat_s = 1\n',
            "action[0].platforms",
        ),
        ('[[action]]\nkind = "loss"\npercent = 5\nat_s = 150\n', "action[0].at_s"),
        ('[[action]]\nkind = "loss"\npercent = 5\nat_s = 10\nuntil_s = 5\n', "action[0].until_s"),
        (
            '[[action]]\nkind = "loss"\npercent = 5\nat_s = 1\nnetworks = ["nope"]\n',
            "action[0].networks",
        ),
        ('[[action]]\nkind = "probe_down"\nprobes = ["p9"]\nat_s = 1\n', "action[0].probes"),
        ('[[probe]]\nid = "p1"\nnetwork = "net"\n', "probe.id"),
        ('[[probe]]\nid = "p2"\nnetwork = "elsewhere"\n', "probe[1].network"),
        (
            '[[expect]]\nkind = "service_block"\nmethod = "carrier_pigeon"\nstart_s = 1\n',
            "expect[0].method",
        ),
        ('[[expect]]\nkind = "probe_offline"\nstart_s = 101\n', "expect[0].start_s"),
        (
            '[[expect]]\nkind = "probe_offline"\nstart_s = 1\nscope = { probe = "p7" }\n',
            "expect[0].scope.probe",
        ),
        (
            '[[expect]]\nkind = "probe_offline"\nstart_s = 1\nscope = { planet = "mars" }\n',
            "expect[0].scope",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(extra, key):
    with pytest.raises(ScenarioError) as caught:
        scenario.parse(MINIMAL + extra, source="bad.toml")
    message = str(caught.value)
    assert message.startswith("bad.toml: ")
    assert key in message


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match=r"nope\.toml: cannot read"):
        scenario.load(missing)
