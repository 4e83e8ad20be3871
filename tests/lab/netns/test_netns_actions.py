"""Each action kind changes what a probe namespace sees, the way the scenario says, on
the networks it names only; removing it restores the view."""

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from balise.lab.netns.actions import Censor
from balise.lab.netns.addressing import AUTHORITATIVE_DNS, BOGON, CONTROL_PROBE, DOMESTIC_SITE
from balise.lab.netns.lab import Lab
from balise.lab.scenario import (
    Action,
    BlockDns,
    BlockIp,
    BlockpageHttp,
    BlockSni,
    ClockSkew,
    Loss,
    PlatformDown,
    ProbeDown,
    Shutdown,
    Throttle,
)
from tests.lab.netns.conftest import assert_left_nothing, needs_root
from tests.lab.netns.peek import (
    dns_answers,
    download_kbps,
    http_get,
    resolve,
    root_lab_tables,
    tcp,
    tls,
)

pytestmark = needs_root

MOBILE = ("mobile-nc",)


@contextlib.asynccontextmanager
async def applied(lab: Lab, action: Action) -> AsyncIterator[None]:
    censor = Censor(lab)
    await censor.apply(0, action)
    yield
    await censor.remove(0, action)


def address(lab: Lab, platform: str) -> str:
    return str(lab.plan.platform(platform).address)


async def test_block_sni_reset_resets_only_the_platforms_names(lab):
    probe, other = lab.plan.probe("nc-mobile"), lab.plan.probe("nc-fixed")
    tiktok = address(lab, "tiktok")
    async with applied(lab, BlockSni(at_s=0, mode="reset", platforms=("tiktok",), networks=MOBILE)):
        assert tls(probe, tiktok, "www.tiktok.com") == "reset"
        assert tls(probe, tiktok, "example.org") == "ok"  # same address, another name
        assert tls(probe, address(lab, "youtube"), "www.youtube.com") == "ok"
        assert tls(other, tiktok, "www.tiktok.com", ca_file=lab.pki.ca_file) == "ok"
    assert tls(probe, tiktok, "www.tiktok.com", ca_file=lab.pki.ca_file) == "ok"


async def test_block_sni_drop_blackholes_the_handshake(lab):
    probe = lab.plan.probe("nc-mobile")
    x = address(lab, "twitter")
    async with applied(lab, BlockSni(at_s=0, mode="drop", platforms=("twitter",), networks=MOBILE)):
        assert tls(probe, x, "x.com", timeout=1) == "timeout"
        assert tls(probe, x, "example.org") == "ok"
        assert tcp(probe, x, 443) == "ok"  # the TCP handshake itself passes


async def test_block_dns_lies_as_told_and_only_on_that_network(lab):
    probe, other = lab.plan.probe("nc-mobile"), lab.plan.probe("nc-fixed")
    isp, other_isp = str(lab.plan.resolver("mobile-nc")), str(lab.plan.resolver("fixed-nc"))
    facebook = address(lab, "facebook")
    cases = {
        "nxdomain": ("NXDOMAIN", []),
        "bogon": ("NOERROR", [str(BOGON)]),
        "blockpage": ("NOERROR", [str(lab.plan.blockpage("mobile-nc"))]),
    }
    for mode, expected in cases.items():
        action = BlockDns(at_s=0, mode=mode, platforms=("facebook",), networks=MOBILE)
        async with applied(lab, action):
            assert resolve(probe, isp, "www.facebook.com") == expected
            assert resolve(probe, isp, "x.com") == ("NOERROR", [address(lab, "twitter")])
            assert resolve(other, other_isp, "www.facebook.com") == ("NOERROR", [facebook])
            # the independent resolver, straight to the Internet, still tells the truth
            assert resolve(probe, str(AUTHORITATIVE_DNS), "www.facebook.com") == (
                "NOERROR",
                [facebook],
            )
        assert resolve(probe, isp, "www.facebook.com") == ("NOERROR", [facebook])


async def test_block_ip_drops_or_rejects_the_platforms_addresses(lab):
    probe = lab.plan.probe("nc-mobile")
    telegram = address(lab, "telegram")
    for mode, seen in (("drop", "timeout"), ("reject", "refused")):
        action = BlockIp(at_s=0, mode=mode, platforms=("telegram",), networks=MOBILE)
        async with applied(lab, action):
            assert tcp(probe, telegram, 443, timeout=1) == seen
            assert tcp(probe, address(lab, "signal"), 443) == "ok"
            assert tcp(lab.plan.probe("nc-fixed"), telegram, 443) == "ok"
        assert tcp(probe, telegram, 443) == "ok"


async def test_blockpage_http_intercepts_plain_http_only(lab):
    probe = lab.plan.probe("nc-mobile")
    youtube = address(lab, "youtube")
    async with applied(lab, BlockpageHttp(at_s=0, platforms=("youtube",), networks=MOBILE)):
        page = http_get(probe, youtube, "www.youtube.com")
        assert b"has been blocked" in page
        assert b"YouTube" not in page
        assert b"<title>Google</title>" in http_get(probe, address(lab, "google"), "www.google.com")
        assert tls(probe, youtube, "www.youtube.com", ca_file=lab.pki.ca_file) == "ok"
    assert b"<title>YouTube</title>" in http_get(probe, youtube, "www.youtube.com")


async def test_throttle_slows_the_platforms_downloads_to_the_rate(lab):
    probe = lab.plan.probe("nc-mobile")  # a mobile line: 8000 kbps
    ca = lab.pki.ca_file
    wiki, google = address(lab, "wikipedia"), address(lab, "google")
    size = 250_000
    free = download_kbps(probe, wiki, "www.wikipedia.org", size, ca_file=ca)
    rate = 1000
    action = Throttle(at_s=0, rate_kbps=rate, platforms=("wikipedia",), networks=MOBILE)
    async with applied(lab, action):
        slow = download_kbps(probe, wiki, "www.wikipedia.org", size, ca_file=ca)
        other = download_kbps(probe, google, "www.google.com", size, ca_file=ca)
    assert free > 4 * rate
    assert 0.5 * rate < slow < 1.3 * rate
    assert other > 4 * rate
    assert download_kbps(probe, wiki, "www.wikipedia.org", size, ca_file=ca) > 4 * rate


async def test_throttle_without_platforms_slows_everything(lab):
    probe = lab.plan.probe("nc-mobile")
    async with applied(lab, Throttle(at_s=0, rate_kbps=1000, networks=MOBILE)):
        slow = download_kbps(
            probe, address(lab, "google"), "www.google.com", 150_000, ca_file=lab.pki.ca_file
        )
    assert slow < 1.3 * 1000


async def test_a_throttle_in_compressed_time_carries_as_many_bytes_per_scenario_second(lab):
    router = lab.plan.router("mobile-nc")
    censor = Censor(lab, time_factor=0.25)  # four scenario seconds in one real second
    throttle = Throttle(at_s=0, rate_kbps=256, networks=MOBILE)
    await censor.apply(0, throttle)
    shaped = subprocess.run(
        ["tc", "-n", router, "qdisc", "show"], capture_output=True, text=True, check=True
    ).stdout
    await censor.remove(0, throttle)
    assert "rate 1024Kbit" in shaped
    assert (
        "tbf"
        not in subprocess.run(
            ["tc", "-n", router, "qdisc", "show"], capture_output=True, text=True, check=True
        ).stdout
    )


async def test_loss_drops_about_the_percentage_each_way(lab):
    probe = lab.plan.probe("nc-mobile")
    server = str(AUTHORITATIVE_DNS)
    assert dns_answers(probe, server, "x.com", 200) == 200
    async with applied(lab, Loss(at_s=0, percent=30, networks=MOBILE)):
        answered = dns_answers(probe, server, "x.com", 400)
        assert dns_answers(lab.plan.probe("nc-fixed"), server, "x.com", 200) == 200
    # a query and its answer each cross the lossy link: 0.7 * 0.7 = 49 % come back
    assert 0.36 * 400 < answered < 0.62 * 400


async def test_shutdown_full_leaves_only_the_router(lab):
    probe = lab.plan.probe("nc-mobile")
    gateway = str(lab.plan.node(probe).uplink.parent_address)
    async with applied(lab, Shutdown(at_s=0, mode="full", networks=MOBILE)):
        assert tcp(probe, address(lab, "google"), 443, timeout=1) == "timeout"
        assert tcp(probe, str(DOMESTIC_SITE), 80, timeout=1) == "timeout"
        assert tcp(probe, gateway, 80) == "refused"  # the router itself answers
        # the ISP's resolver answers, but cannot reach the Internet any more
        assert resolve(probe, str(lab.plan.resolver("mobile-nc")), "x.com", 4)[0] == "SERVFAIL"
        assert tcp(lab.plan.probe("nc-fixed"), address(lab, "google"), 443) == "ok"
    assert tcp(probe, address(lab, "google"), 443) == "ok"


async def test_shutdown_international_keeps_the_country_inside(lab):
    probe = lab.plan.probe("nc-mobile")
    async with applied(lab, Shutdown(at_s=0, mode="international", networks=MOBILE)):
        assert b"of NC" in http_get(probe, str(DOMESTIC_SITE), "national")
        assert tcp(probe, other_probe_address(lab), 9) == "refused"  # a compatriot answers
        assert tcp(probe, address(lab, "whatsapp"), 443, timeout=1) == "timeout"
        assert tcp(lab.plan.probe("fj-fixed"), address(lab, "whatsapp"), 443) == "ok"
    assert tcp(probe, address(lab, "whatsapp"), 443) == "ok"


def other_probe_address(lab: Lab) -> str:
    """A subscriber of the other operator of the same country."""
    return str(lab.plan.node(lab.plan.probe("nc-fixed")).uplink.child_address)


async def test_platform_down_stops_its_servers_for_everyone(lab):
    instagram = address(lab, "instagram")
    control = lab.plan.probe(CONTROL_PROBE)
    async with applied(lab, PlatformDown(at_s=0, platforms=("instagram",))):
        assert tcp(control, instagram, 443) == "refused"
        assert tcp(lab.plan.probe("nc-fixed"), instagram, 443) == "refused"
        assert tcp(control, address(lab, "facebook"), 443) == "ok"
    assert tls(control, instagram, "www.instagram.com", ca_file=lab.pki.ca_file) == "ok"


def sleeper(probe_id: str, clock_offset_s: float) -> list[str]:
    """A stand-in probe process: it only lives, with its settings on its command line."""
    program = "import time; time.sleep(600)"
    return [sys.executable, "-c", program, probe_id, f"offset={clock_offset_s:g}"]


def processes_in(ns: str) -> list[str]:
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=True)
    return [
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        for pid in pids.stdout.split()
    ]


async def settled(ns: str) -> list[str]:
    """The namespace's processes once each has its command line (a busy machine lags)."""
    async with asyncio.timeout(10):
        while not (running := processes_in(ns)) or not all(running):
            await asyncio.sleep(0.05)
    return running


async def test_probe_down_kills_and_restarts_and_clock_skew_restarts_with_the_offset(
    scenario, catalog, tmp_path
):
    tables = root_lab_tables()
    async with Lab(
        scenario, catalog=catalog, run_dir=tmp_path / "run", probe_launcher=sleeper
    ) as lab:
        ns = lab.plan.probe("nc-fixed")
        await lab.start_probe("nc-fixed")
        assert [p for p in processes_in(ns) if "offset=0" in p]
        censor = Censor(lab)
        down = ProbeDown(at_s=0, probes=("nc-fixed",))
        await censor.apply(0, down)
        assert processes_in(ns) == []
        skew = ClockSkew(at_s=0, offset_s=-3600, networks=("fixed-nc",))
        await censor.apply(1, skew)
        assert processes_in(ns) == []  # no power, no clock
        await censor.remove(0, down)
        assert [p for p in processes_in(ns) if "offset=-3600" in p]
        await censor.remove(1, skew)
        running = await settled(ns)
        assert len(running) == 1
        assert "offset=0" in running[0]
    assert_left_nothing(lab, tables)
