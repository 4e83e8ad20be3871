"""Running the Ansible playbooks of ansible/ from the tests, and reading their recap."""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent

_RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Recap:
    ok: int
    changed: int
    unreachable: int
    failed: int


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    log: Path

    def recap(self, host: str = "localhost") -> Recap:
        for match in _RECAP.finditer(self.output):
            if match["host"] == host:
                return Recap(
                    int(match["ok"]),
                    int(match["changed"]),
                    int(match["unreachable"]),
                    int(match["failed"]),
                )
        raise AssertionError(f"no recap for {host} in {self.log}:\n{self.output[-3000:]}")

    def changed_tasks(self) -> list[str]:
        """The names of the tasks that reported a change, for a failure message."""
        names, task = [], ""
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                task = line.split("]", 1)[0].removeprefix("TASK [")
            elif line.startswith("changed:"):
                names.append(task)
        return names


def ansible_env() -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }


def run_playbook(
    playbook: str, inventory: Path, log: Path, *args: str, timeout: float = 600
) -> Run:
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), playbook, *args]
    done = subprocess.run(
        command,
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    log.write_text(output)
    return Run(done.returncode, output, log)
