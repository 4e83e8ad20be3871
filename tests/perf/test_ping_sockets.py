"""The probe bench opens ping sockets for its run and gives the host its setting back."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import is_root

SCRIPT = textwrap.dedent(
    """
    from balise.bench.ping_sockets import PING_GROUP_RANGE, ping_sockets_allowed, ping_sockets_open

    print(ping_sockets_allowed())
    with ping_sockets_open() as allowed:
        print(allowed, ping_sockets_allowed())
    print(ping_sockets_allowed(), PING_GROUP_RANGE.read_text().split())
    """
)


@pytest.mark.root
@pytest.mark.skipif(not is_root(), reason="a network namespace of our own needs root")
def test_ping_sockets_are_open_for_the_run_only():
    # ping_group_range is per network namespace: the host's is not touched.
    done = subprocess.run(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"sysctl -qw net.ipv4.ping_group_range='1 0' && exec {sys.executable} -c \"$SCRIPT\"",
        ],
        env={"SCRIPT": SCRIPT, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.splitlines() == [
        "False",
        "True True",
        "False ['1', '0']",
    ], done.stderr
