"""The lab's topology in the kernel: every server reachable from the probes through
their own ISP with the lab CA, each country its own national site, no way out."""

import ipaddress
import json
import subprocess
from pathlib import Path

from balise.lab.netns.addressing import (
    AUTHORITATIVE_DNS,
    CONTROL_PROBE,
    DOCUMENTATION,
    DOMESTIC_SITE,
)
from balise.lab.netns.shaping import ACCESS_KBPS
from balise.lab.netns.topology import NETNS_ETC
from balise.model.layers import Access
from tests.lab.netns.conftest import needs_root
from tests.lab.netns.peek import download_kbps, http_get, https_get, resolve, tcp

pytestmark = needs_root


async def test_probe_reaches_platforms_over_https_with_the_lab_ca(lab):
    ns = lab.plan.probe("nc-mobile")
    resolver = str(lab.plan.resolver("mobile-nc"))
    tiktok = str(lab.plan.platform("tiktok").address)
    assert resolve(ns, resolver, "www.tiktok.com") == ("NOERROR", [tiktok])
    page = https_get(ns, tiktok, "www.tiktok.com", ca_file=lab.pki.ca_file)
    assert page.startswith(b"HTTP/1.1 200")
    assert b"<title>TikTok</title>" in page
    blob = https_get(ns, tiktok, "www.tiktok.com", "/blob/100000", ca_file=lab.pki.ca_file)
    assert b"Content-Length: 100000" in blob
    assert http_get(ns, tiktok, "www.tiktok.com").startswith(b"HTTP/1.1 200")


async def test_each_vantage_point_uses_its_isp_and_reaches_its_own_national_site(lab):
    for probe, expected in (("nc-fixed", b"of NC"), ("fj-fixed", b"of FJ")):
        ns = lab.plan.probe(probe)
        assert b"nameserver 192.0.2.6" in (lab_etc(ns) / "resolv.conf").read_bytes()
        assert expected in http_get(ns, str(DOMESTIC_SITE), "national")
    control = lab.plan.probe(CONTROL_PROBE)
    assert f"nameserver {AUTHORITATIVE_DNS}" in (lab_etc(control) / "resolv.conf").read_text()
    assert b"International anchor" in http_get(control, str(DOMESTIC_SITE), "national")
    # the system resolver inside a probe namespace is the ISP's: getaddrinfo goes through it
    found = subprocess.run(
        ["ip", "netns", "exec", lab.plan.probe("nc-fixed"), "getent", "hosts", "x.com"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.split()[0] == str(lab.plan.platform("twitter").address)


async def test_nothing_routes_out_of_the_lab(lab):
    for node in lab.plan.nodes:
        routes = json.loads(ip_json(node.ns, "route"))
        for route in routes:
            if route["dst"] == "default":
                assert node.role in {"probe", "control"}
                assert in_lab_ranges(route["gateway"])
            else:
                assert in_lab_ranges(route["dst"]), (node.ns, route)
            if "gateway" in route:  # TCP retransmits in compressed time on every path
                assert route["metrics"] == [{"rto_min": 60}], (node.ns, route)
        names = {link["ifname"] for link in json.loads(ip_json(node.ns, "link"))}
        assert names <= {"lo", "uplink"} | {f"d{link.index}" for link in lab.plan.links}
    root_links = json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, check=True).stdout
    )
    assert not [link for link in root_links if link.get("link_netnsid") is not None]
    assert tcp(lab.plan.probe("nc-mobile"), "9.9.9.9", 443) == "unreachable"
    assert tcp(lab.plan.core, "9.9.9.9", 443) == "unreachable"


def ip_json(ns: str, what: str) -> bytes:
    return subprocess.run(["ip", "-n", ns, "-j", what], capture_output=True, check=True).stdout


def in_lab_ranges(text: str) -> bool:
    network = ipaddress.ip_network(text if "/" in text else f"{text}/32", strict=False)
    return any(network.subnet_of(doc) for doc in DOCUMENTATION)


def lab_etc(ns: str) -> Path:
    return NETNS_ETC / ns


async def test_each_subscriber_line_has_its_access_rate(lab):
    google = str(lab.plan.platform("google").address)
    mobile, fixed = (
        download_kbps(lab.plan.probe(p), google, "www.google.com", 800_000, ca_file=lab.pki.ca_file)
        for p in ("nc-mobile", "nc-fixed")
    )
    assert 0.5 * ACCESS_KBPS[Access.MOBILE] < mobile < 1.2 * ACCESS_KBPS[Access.MOBILE]
    assert 1.5 * mobile < fixed < 1.2 * ACCESS_KBPS[Access.FIXED]
