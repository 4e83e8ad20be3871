"""The image recipe's pieces: the units systemd would load, the probe unit's exposure
score, the sysctl and watchdog drop-ins, the shell scripts and the data partition."""

import configparser
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.playbooks import REPO

FIRMWARE = REPO / "firmware"
UNITS = sorted((FIRMWARE / "systemd").glob("*.service"))
INSTALLED_PATHS = ("/opt/balise/venv/bin/balise", "/usr/local/lib/balise/grow-data")


def stubbed_unit(unit: Path, workdir: Path) -> Path:
    """The unit with its executables pointing at stubs: the image's files are not here."""
    text = unit.read_text()
    for path in INSTALLED_PATHS:
        stub = workdir / Path(path).name
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
        text = text.replace(path, str(stub))
    copy = workdir / unit.name
    copy.write_text(text)
    return copy


def test_the_recipe_ships_the_units():
    assert {u.name for u in UNITS} == {
        "balise-probe.service",
        "balise-enroll.service",
        "balise-grow-data.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_the_unit_verifies(unit, tmp_path, systemd_analyze):
    done = subprocess.run(
        [systemd_analyze, "verify", str(stubbed_unit(unit, tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def exposure(unit: Path, systemd_analyze: str) -> float:
    done = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]  # "→ Overall exposure level for x: 1.7 OK"
    return float(last.rsplit(":", 1)[1].split()[0])


def test_the_probe_unit_scores_at_most_3(systemd_analyze):
    assert exposure(FIRMWARE / "systemd/balise-probe.service", systemd_analyze) <= 3.0


def test_the_probe_has_only_cap_net_raw_and_the_settings_of_a_field_probe():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(FIRMWARE / "systemd/balise-probe.service")
    service = unit["Service"]
    assert service["AmbientCapabilities"] == "CAP_NET_RAW"
    assert service["CapabilityBoundingSet"] == "CAP_NET_RAW"
    assert service["User"] == "balise"
    assert service["Type"] == "notify"
    assert service["Restart"] == "on-failure"
    assert service["ProtectSystem"] == "strict"
    assert service["StateDirectory"] == "balise"
    assert int(service["MemoryMax"].removesuffix("M")) <= 256  # a Pi Zero 2 W has 512 MB


def test_ping_sockets_are_allowed_for_every_group():
    lines = (FIRMWARE / "sysctl.d/60-balise-ping.conf").read_text().splitlines()
    settings = dict((part.strip() for part in line.split("=", 1)) for line in lines if "=" in line)
    assert settings == {"net.ipv4.ping_group_range": "0 2147483647"}


def test_systemd_pets_the_hardware_watchdog():
    config = configparser.ConfigParser()
    config.read(FIRMWARE / "system.conf.d/60-balise-watchdog.conf")
    runtime = config["Manager"]["RuntimeWatchdogSec"]
    assert 0 < int(runtime.removesuffix("s")) <= 15  # the bcm2835 limit


SCRIPTS = [
    FIRMWARE / "build.sh",
    FIRMWARE / "scripts/grow-data",
    FIRMWARE / "scripts/add-data-partition",
    FIRMWARE / "pi-gen/stage-balise/prerun.sh",
    FIRMWARE / "pi-gen/stage-balise/00-balise/01-run.sh",
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_the_script_parses_and_is_executable(script):
    assert script.stat().st_mode & 0o111
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_shellcheck_finds_nothing(script, shellcheck):
    done = subprocess.run(
        [shellcheck, str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_the_data_partition_is_appended_as_a_labelled_ext4(tmp_path):
    tools = {
        tool: shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin") for tool in ("sfdisk", "blkid")
    }
    if not all(tools.values()) or not shutil.which("mkfs.ext4", path="/usr/sbin:/sbin"):
        pytest.skip("sfdisk, blkid or mkfs.ext4 is missing (util-linux, e2fsprogs)")
    sfdisk, blkid = str(tools["sfdisk"]), str(tools["blkid"])
    image = tmp_path / "raspios.img"
    with image.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    layout = "start=16384, size=32768, type=c\nstart=49152, size=65536, type=83\n"
    subprocess.run([sfdisk, "--quiet", str(image)], input=layout, text=True, check=True)
    subprocess.run([str(FIRMWARE / "scripts/add-data-partition"), str(image), "40M"], check=True)

    dump = subprocess.run(
        [sfdisk, "--json", str(image)], capture_output=True, text=True, check=True
    ).stdout
    partitions = json.loads(dump)["partitiontable"]["partitions"]
    assert len(partitions) == 3
    data = partitions[2]
    assert data["start"] * 512 % (8 * 1024 * 1024) == 0  # aligned as pi-gen aligns
    assert data["start"] >= partitions[1]["start"] + partitions[1]["size"]
    assert data["size"] * 512 == 40 * 1024 * 1024
    probe = subprocess.run(
        [blkid, "-p", "-O", str(data["start"] * 512), "-o", "export", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "LABEL=balise-data" in probe.splitlines()
    assert "TYPE=ext4" in probe.splitlines()
