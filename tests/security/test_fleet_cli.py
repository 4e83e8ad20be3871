"""`balise probe enroll` → `balise fleet add|list|revoke`, as an operator runs them."""

import re

from balise.cli import main
from collector import fleet


def write_configs(tmp_path):
    probe = tmp_path / "probe.toml"
    probe.write_text(f'id = "nc-01"\nstate_dir = "{tmp_path}/probe"\n[location]\ncountry = "NC"\n')
    collector = tmp_path / "collector.toml"
    collector.write_text(
        f'state_dir = "{tmp_path}/collector"\n[fleet]\nregistry = "{tmp_path}/fleet.json"\n'
        f'mosquitto_password_file = "{tmp_path}/passwords"\n'
        f'mosquitto_acl_file = "{tmp_path}/acl"\n'
    )
    return probe, collector


def test_enroll_add_list_revoke(tmp_path, capsys):
    probe, collector = write_configs(tmp_path)
    assert main(["probe", "enroll", "--config", str(probe), "--no-qr"]) == 0
    out = capsys.readouterr().out
    code = re.search(r"enrollment:\s+(\S+)", out).group(1)
    assert code.startswith("balise-enroll:1:nc-01:")
    # the key stays on the device, private
    assert (tmp_path / "probe" / "identity.key").stat().st_mode & 0o077 == 0

    assert main(["fleet", "add", code, "--config", str(collector), "--note", "Nouméa"]) == 0
    out = capsys.readouterr().out
    assert "username 'nc-01'" in out
    assert "username 'balise-collector'" in out
    users = [line.split(":")[0] for line in (tmp_path / "passwords").read_text().splitlines()]
    assert sorted(users) == ["balise-collector", "nc-01"]
    assert "topic write balise/v1/probe/nc-01/round" in (tmp_path / "acl").read_text()

    assert main(["fleet", "list", "--config", str(collector)]) == 0
    assert re.search(r"nc-01\s+active", capsys.readouterr().out)

    assert main(["fleet", "revoke", "nc-01", "--config", str(collector)]) == 0
    registry = fleet.load(tmp_path / "fleet.json")
    assert registry.probes["nc-01"].revoked is not None
    users = [line.split(":")[0] for line in (tmp_path / "passwords").read_text().splitlines()]
    assert users == ["balise-collector"]
    assert "nc-01" not in (tmp_path / "acl").read_text()


def test_a_garbled_code_is_refused(tmp_path, capsys):
    _, collector = write_configs(tmp_path)
    assert main(["fleet", "add", "balise-enroll:1:nc-01:notakey", "--config", str(collector)]) == 2
    assert "public key" in capsys.readouterr().out
