"""A lab leaves nothing behind: on success, on failure, on cancellation (Ctrl-C), and
`clean_all` sweeps up after a run that was killed outright."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from balise.lab.netns.lab import Lab
from tests.lab.netns.conftest import assert_left_nothing, needs_root
from tests.lab.netns.peek import root_lab_tables, tcp

pytestmark = needs_root
REPO = Path(__file__).resolve().parents[3]


async def test_a_failure_inside_leaves_nothing_and_the_next_run_works(scenario, catalog, tmp_path):
    tables = root_lab_tables()
    first = Lab(scenario, catalog=catalog, run_dir=tmp_path / "first")
    with pytest.raises(RuntimeError, match="boom"):
        async with first:
            raise RuntimeError("boom")
    assert_left_nothing(first, tables)
    async with Lab(scenario, catalog=catalog, run_dir=tmp_path / "second") as second:
        tiktok = str(second.plan.platform("tiktok").address)
        assert tcp(second.plan.probe("nc-mobile"), tiktok, 443) == "ok"
    assert_left_nothing(second, tables)


async def test_cancelling_the_run_like_ctrl_c_cleans_up(scenario, catalog, tmp_path):
    tables = root_lab_tables()
    lab = Lab(scenario, catalog=catalog, run_dir=tmp_path / "run")
    up = asyncio.Event()

    async def run() -> None:
        async with lab:
            up.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(run(), name="lab-run")
    await asyncio.wait_for(up.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_left_nothing(lab, tables)


def test_clean_all_removes_what_a_killed_run_left():
    # In a mount namespace of its own (crashed_run.py), so no other lab run is swept.
    private = ["unshare", "--mount", "--propagation", "private"]
    done = subprocess.run(
        [*private, sys.executable, "-m", "tests.lab.netns.crashed_run"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    seen = json.loads(done.stdout)
    assert seen["status"] == -9
    assert f"namespace {seen['core']}" in seen["removed"]
    assert f"process {seen['orphan']} in {seen['core']}" in seen["removed"]
    assert f"directory /etc/netns/{seen['probe']}" in seen["removed"]
    assert seen["left"] == ["blzz99-keep"]  # the only namespace that is not the lab's
    assert seen["again"] == []


async def test_a_timeout_while_the_servers_start_leaves_nothing(scenario, catalog, tmp_path):
    tables = root_lab_tables()
    lab = Lab(scenario, catalog=catalog, run_dir=tmp_path / "run")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.6), lab:  # the servers take longer than that to start
            pytest.fail("the lab came up too fast to test a timeout during its start")
    assert_left_nothing(lab, tables)
