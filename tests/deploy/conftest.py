"""Fixtures of the deployment tests: Debian tools they need, installed when missing."""

import os
import shutil
import subprocess

import pytest


def debian_tool(command: str, package: str) -> str:
    """The path of `command`; as root on Debian, `package` is installed when it is missing."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin:/sbin")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{command} is missing: install the Debian package {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    if subprocess.run(apt, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=True)
        subprocess.run(apt, env=env, capture_output=True, check=True)
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin:/sbin")
    assert found, f"{package} is installed but {command} is not on PATH"
    return found


@pytest.fixture(scope="session")
def cloud_init() -> str:
    return debian_tool("cloud-init", "cloud-init")


@pytest.fixture(scope="session")
def systemd_analyze() -> str:
    return debian_tool("systemd-analyze", "systemd")


@pytest.fixture(scope="session")
def shellcheck() -> str:
    return debian_tool("shellcheck", "shellcheck")
