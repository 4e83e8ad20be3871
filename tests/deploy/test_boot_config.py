"""ansible/boot-config.yml renders the cloud-init files of the boot partition: each
user-data passes cloud-init's schema, each network-config converts to NetworkManager
connections, and the probe settings inside decode with the probe's own loader."""

import configparser
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from probe import settings as probe_settings
from tests.deploy.playbooks import run_playbook

PROBES = [
    {
        "id": "wifi-01",
        "location": {"country": "NC", "region": "Sud", "asn": 18200, "network": "OPT"},
        "wifi": {"ssid": 'Café "Wi-Fi"', "password": "correct horse battery", "country": "FR"},
    },
    {
        "id": "lte-01",
        "location": {"country": "NC", "access": "mobile"},
        "lte": {"apn": "internet", "pin": "1234"},
        "readonly_root": True,
        "round_s": 120,
        "measure": {"icmp": False, "dns_timeout_s": 2.5, "decoy_sni": "example.net"},
    },
    {"id": "gone-01", "location": {"country": "NC"}, "revoked": True},
]


@dataclass(frozen=True)
class Rendered:
    out: Path
    credentials: Path

    def user_data(self, probe: str) -> dict[str, object]:
        return yaml.safe_load((self.out / probe / "user-data").read_text())

    def written(self, probe: str, path: str) -> str:
        files = self.user_data(probe)["write_files"]
        assert isinstance(files, list)
        return next(f["content"] for f in files if f["path"] == path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    workdir = tmp_path_factory.mktemp("boot-config")
    inventory = workdir / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "vars": {
                        "balise_probes": PROBES,
                        "balise_broker_url": "mqtts://broker.example.org:8883",
                        "balise_admin_ssh_keys": ["ssh-ed25519 AAAAC3Nza operator@example.org"],
                    }
                }
            }
        )
    )
    out = workdir / "boot"
    run = run_playbook(
        "boot-config.yml", inventory, workdir / "run.log", "-e", f"boot_config_out={out}"
    )
    assert run.returncode == 0, run.output[-3000:]
    return Rendered(out=out, credentials=workdir / "credentials")


def test_one_directory_per_active_probe(rendered):
    assert sorted(p.name for p in rendered.out.iterdir()) == ["lte-01", "wifi-01"]
    for probe in ("lte-01", "wifi-01"):
        names = sorted(p.name for p in (rendered.out / probe).iterdir())
        assert names == ["meta-data", "network-config", "user-data"]


@pytest.mark.parametrize("probe", ["wifi-01", "lte-01"])
def test_user_data_passes_the_cloud_config_schema(rendered, probe, cloud_init):
    done = subprocess.run(
        [cloud_init, "schema", "--config-file", str(rendered.out / probe / "user-data")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("probe", ["wifi-01", "lte-01"])
def test_network_config_renders_for_network_manager(rendered, probe, cloud_init, tmp_path):
    source = rendered.out / probe / "network-config"
    convert = ["devel", "net-convert", "--network-data", str(source), "--kind", "yaml"]
    target = [
        "--distro",
        "debian",
        "--output-kind",
        "network-manager",
        "--directory",
        str(tmp_path),
    ]
    done = subprocess.run(
        [cloud_init, *convert, *target], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    connection = tmp_path / "etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection"
    assert "method=auto" in connection.read_text()


def test_the_probe_settings_inside_decode_with_the_probes_loader(rendered, tmp_path):
    for probe in ("wifi-01", "lte-01"):
        path = tmp_path / f"{probe}.toml"
        path.write_text(rendered.written(probe, "/etc/balise/probe.toml"))
        settings = probe_settings.load(path)
        assert settings.id == probe
        assert settings.mqtt.url == "mqtts://broker.example.org:8883"
        assert settings.mqtt.username == probe
        assert settings.mqtt.password_file == "/etc/balise/mqtt-password"  # noqa: S105 - a path
    wifi = probe_settings.load(tmp_path / "wifi-01.toml")
    assert (wifi.location.asn, wifi.location.network, wifi.round_s) == (18200, "OPT", 300.0)
    lte = probe_settings.load(tmp_path / "lte-01.toml")
    assert (lte.location.access.value, lte.round_s) == ("mobile", 120.0)
    assert (lte.measure.icmp, lte.measure.dns_timeout_s) == (False, 2.5)
    assert lte.measure.decoy_sni == "example.net"
    assert wifi.measure == probe_settings.MeasureSettings()


def test_the_password_is_the_one_the_broker_gets(rendered):
    for probe in ("wifi-01", "lte-01"):
        written = rendered.written(probe, "/etc/balise/mqtt-password")
        assert written == (rendered.credentials / f"probe-{probe}").read_text().strip()
        assert len(written) == 32
    assert not (rendered.credentials / "probe-gone-01").exists()


def keyfile(text: str) -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read_string(text)
    return parsed


def test_wifi_and_lte_are_network_manager_connections(rendered):
    wifi = keyfile(
        rendered.written(
            "wifi-01", "/etc/NetworkManager/system-connections/balise-wifi.nmconnection"
        )
    )
    assert wifi["wifi"]["ssid"] == 'Café "Wi-Fi"'
    assert wifi["wifi-security"]["psk"] == "correct horse battery"
    lte = keyfile(
        rendered.written("lte-01", "/etc/NetworkManager/system-connections/balise-lte.nmconnection")
    )
    assert (lte["connection"]["type"], lte["gsm"]["apn"], lte["gsm"]["pin"]) == (
        "gsm",
        "internet",
        "1234",
    )
    commands = rendered.user_data("wifi-01")["runcmd"]
    assert ["raspi-config", "nonint", "do_wifi_country", "FR"] in commands


def test_the_read_only_root_is_asked_for_only_where_configured(rendered):
    assert "power_state" in rendered.user_data("lte-01")
    assert "power_state" not in rendered.user_data("wifi-01")


def test_operators_get_a_key_only_login(rendered):
    users = rendered.user_data("wifi-01")["users"]
    assert users[0]["ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3Nza operator@example.org"]
    assert users[0]["lock_passwd"] is True
    assert rendered.user_data("wifi-01")["ssh_pwauth"] is False
