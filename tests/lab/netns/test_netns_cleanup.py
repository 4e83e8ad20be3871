"""A lab leaves nothing behind: on success, on failure, on cancellation (Ctrl-C), and
`clean_all` sweeps up after a run that was killed outright."""

import asyncio
import subprocess

import pytest

from balise.lab.netns import topology
from balise.lab.netns.addressing import new_run_id, plan
from balise.lab.netns.cleanup import clean_all
from balise.lab.netns.lab import Lab
from tests.lab.netns.conftest import assert_left_nothing, needs_root
from tests.lab.netns.peek import netns_list, root_nft_tables, tcp

pytestmark = needs_root


async def test_a_failure_inside_leaves_nothing_and_the_next_run_works(scenario, catalog, tmp_path):
    tables = root_nft_tables()
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
    tables = root_nft_tables()
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


async def test_clean_all_removes_what_a_killed_run_left(scenario, catalog):
    bystander = "blzz99-keep"  # not a lab name: "zz99" is no run id
    subprocess.run(["ip", "netns", "add", bystander], check=True)
    try:
        crashed = plan(scenario, catalog, new_run_id())
        await topology.build(crashed)
        orphan = subprocess.Popen(
            ["ip", "netns", "exec", crashed.core, "sleep", "600"], start_new_session=True
        )
        removed = clean_all()
        assert orphan.wait(5) == -9
        assert f"namespace {crashed.core}" in removed
        assert f"process {orphan.pid} in {crashed.core}" in removed
        assert f"directory /etc/netns/{crashed.probe('nc-fixed')}" in removed
        assert not [ns for ns in netns_list() if ns.startswith(f"bl{crashed.run_id}-")]
        assert bystander in netns_list()
        assert clean_all() == []
    finally:
        subprocess.run(["ip", "netns", "delete", bystander], check=True)
