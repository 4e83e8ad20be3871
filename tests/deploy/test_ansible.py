"""Every playbook passes ansible-playbook --syntax-check and ansible-lint (production
profile)."""

import subprocess

import pytest

from tests.deploy.playbooks import ANSIBLE_DIR, BIN, ansible_env

PLAYBOOKS = sorted(p.name for p in ANSIBLE_DIR.glob("*.yml"))
EXAMPLE = ANSIBLE_DIR / "inventory/example/hosts.yml"


def test_the_playbooks_are_the_documented_ones():
    assert PLAYBOOKS == ["boot-config.yml", "probes.yml", "site.yml"]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(EXAMPLE), playbook],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ansible_lint_finds_nothing():
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--nocolor", *PLAYBOOKS, "roles"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
