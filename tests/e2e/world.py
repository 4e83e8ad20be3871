"""A loopback world for whole-pipeline tests: DNS, HTTPS and HTTP servers with a test CA.

`platform.test` is reachable; `gone.test` does not resolve (NXDOMAIN).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from balise.model.catalog import Anchor, Catalog, Target
from probe.measure_settings import MeasureSettings
from tests.support.local_dns import LocalDns
from tests.support.local_http import LocalWeb, make_app
from tests.support.local_tls import Pki

RECORDS = {"platform.test": ("127.0.0.1",), "cdn.platform.test": ("127.0.0.1",)}


@dataclass(frozen=True)
class World:
    catalog: Catalog
    measure: MeasureSettings


@asynccontextmanager
async def loopback_world(workdir: Path) -> AsyncIterator[World]:
    pki = Pki.create(workdir)
    async with (
        LocalDns(records=dict(RECORDS)) as system_dns,
        LocalDns(records=dict(RECORDS)) as independent_dns,
        LocalWeb(make_app(), context=pki.server_context(*RECORDS)) as https,
        LocalWeb(make_app()) as plain,
    ):
        catalog = Catalog(
            revision="loopback",
            targets=(
                Target(
                    id="tiktok",
                    domain="platform.test",
                    port=https.port,
                    http_domain="platform.test",
                    http_port=plain.port,
                    throughput_url=f"https://cdn.platform.test:{https.port}/big",
                ),
                Target(id="facebook", domain="gone.test", port=https.port),
            ),
            anchors=(
                Anchor(id="loopback", role="international", address="127.0.0.1", port=https.port),
            ),
            throughput_every=1,
        )
        measure = MeasureSettings(
            system_resolver=system_dns.spec,
            independent_resolver=independent_dns.spec,
            ca_file=str(pki.ca_file),
            bogon_exempt=("127.0.0.0/8",),
            dns_timeout_s=1.0,
            connect_timeout_s=1.0,
            tls_timeout_s=1.0,
            http_timeout_s=2.0,
            round_deadline_s=5.0,
            traceroute=False,
            icmp=False,
        )
        yield World(catalog, measure)
