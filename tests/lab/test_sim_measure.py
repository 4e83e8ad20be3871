"""The simulator's measurements are judged by the real probe's rules as the sim says."""

import random

import pytest

from balise.lab.scenario import BlockDns, BlockIp, BlockpageHttp, BlockSni, Throttle
from balise.lab.sim_measure import Conditions, measure, platforms
from probe.chain import judge

PLATFORM = platforms(("tiktok",))[0]


def noise() -> random.Random:
    return random.Random(1)  # noqa: S311 - simulation noise, not cryptography


ACTIONS = [
    BlockDns(at_s=0, platforms=("tiktok",), mode="nxdomain"),
    BlockDns(at_s=0, platforms=("tiktok",), mode="bogon"),
    BlockDns(at_s=0, platforms=("tiktok",), mode="blockpage"),
    BlockIp(at_s=0, platforms=("tiktok",), mode="drop"),
    BlockIp(at_s=0, platforms=("tiktok",), mode="reject"),
    BlockSni(at_s=0, platforms=("tiktok",), mode="reset"),
    BlockSni(at_s=0, platforms=("tiktok",), mode="drop"),
    BlockpageHttp(at_s=0, platforms=("tiktok",)),
    Throttle(at_s=0, platforms=("tiktok",), rate_kbps=100),
]


@pytest.mark.parametrize(
    "action", ACTIONS, ids=lambda a: f"{type(a).__name__}-{getattr(a, 'mode', '')}"
)
def test_the_probe_judges_each_simulated_block_the_same_way(action):
    result, _ = measure(PLATFORM, Conditions(actions=(action,)), noise(), 5000.0)
    assert judge(result, ()) == (result.failed_layer, result.failure)


@pytest.mark.parametrize("shutdown", ["full", "international", None])
def test_cut_and_healthy_chains_too(shutdown):
    c = Conditions(
        shutdown=shutdown, down=frozenset({"tiktok"}) if shutdown is None else frozenset()
    )
    result, _ = measure(PLATFORM, c, noise(), 5000.0)
    assert result.failed_layer is not None
    assert judge(result, ()) == (result.failed_layer, result.failure)
