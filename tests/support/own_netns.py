"""Python run in a network namespace of its own, whose ping sockets the test decides.

`net.ipv4.ping_group_range` is per network namespace: a test sets it there without
touching the host's (which a deployment test or the host's admin may have changed).
"""

import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]


def run_python(script: str, *, ping_groups: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a new network namespace (loopback up); needs root."""
    shell = (
        f"ip link set lo up && sysctl -qw net.ipv4.ping_group_range='{ping_groups}' && "
        f'exec {sys.executable} -c "$SCRIPT"'
    )
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", shell],
        env={"SCRIPT": script, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=SOURCE,
    )
