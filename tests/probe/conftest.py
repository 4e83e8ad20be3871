"""Fixtures of the probe's tests, and the loopback world of the chain and round tests.

In the world, 127.0.0.1 is the platform, 127.0.0.2 a block-page server answering on
the same port with another site's certificate, 127.0.0.3 an address nothing listens
on, and a censor's SNI filter sits in front of the platform on its own port.
"""

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from balise.model.catalog import Target
from probe.backend import NetworkBackend
from probe.chain import ChainPlan
from probe.measure_settings import MeasureSettings
from probe.measurements.resolver import parse_resolver
from probe.measurements.timing import RoundClock
from tests.support.local_dns import LocalDns
from tests.support.local_http import LocalWeb, make_app
from tests.support.local_tls import LocalServer, Pki, sni_filter

# Test servers live on loopback, which is a bogon: exempt it for the tests.
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def clock() -> RoundClock:
    return RoundClock()


@pytest.fixture
async def system_dns() -> AsyncIterator[LocalDns]:
    async with LocalDns(
        records={"platform.test": ("127.0.0.1", "::1"), "v4only.test": ("127.0.0.1",)},
        rcodes={"broken.test": "SERVFAIL", "refusing.test": "REFUSED"},
        silent={"silent.test"},
    ) as server:
        yield server


@pytest.fixture
def backend(system_dns: LocalDns, pki: Pki) -> NetworkBackend:
    return NetworkBackend(system_resolver=system_dns.spec, ca_file=str(pki.ca_file))


SYSTEM_RECORDS = {
    "platform.test": ("127.0.0.1",),
    "blockpage.test": ("127.0.0.1",),
    "bogon.test": ("10.10.34.36",),
    "misled.test": ("127.0.0.2",),
    "ipblocked.test": ("127.0.0.3",),
    "sni-blocked.test": ("127.0.0.1",),
    "v6only.test": ("::1",),
}
INDEPENDENT_RECORDS = SYSTEM_RECORDS | {"misled.test": ("127.0.0.1",)}


@dataclass
class World:
    settings: MeasureSettings
    system_dns: LocalDns
    https_port: int
    http_port: int
    censor_port: int

    def target(self, domain: str, **overrides: object) -> Target:
        fields: dict[str, object] = {
            "id": domain.split(".", maxsplit=1)[0],
            "domain": domain,
            "port": self.https_port,
            "http_domain": domain,
            "http_port": self.http_port,
        }
        return Target(**(fields | overrides))  # type: ignore[arg-type]

    def plan(self, **overrides: object) -> ChainPlan:
        assert self.settings.independent_resolver is not None
        return ChainPlan(
            clock=overrides.pop("clock"),  # type: ignore[arg-type]
            settings=self.settings,
            independent=parse_resolver(self.settings.independent_resolver),
            **overrides,  # type: ignore[arg-type]
        )

    def backend(self) -> NetworkBackend:
        return NetworkBackend.from_settings(self.settings)


@pytest.fixture
async def world(pki: Pki) -> AsyncIterator[World]:
    names = ("platform.test", "misled.test", "sni-blocked.test", "ipblocked.test")
    async with (
        LocalDns(records=dict(SYSTEM_RECORDS)) as system_dns,
        LocalDns(records=dict(INDEPENDENT_RECORDS)) as independent_dns,
        LocalWeb(make_app(), context=pki.server_context(*names)) as platform,
        LocalWeb(
            make_app(),
            host="127.0.0.2",
            port=platform.port,
            context=pki.server_context("blockpage.test"),
        ) as _blockpage_server,
        LocalWeb(make_app()) as plain,
        LocalServer(sni_filter(("127.0.0.1", platform.port), ("sni-blocked.test",))) as censor,
    ):
        settings = MeasureSettings(
            system_resolver=system_dns.spec,
            independent_resolver=independent_dns.spec,
            ca_file=str(pki.ca_file),
            bogon_exempt=("127.0.0.0/8",),
            dns_timeout_s=1.0,
            connect_timeout_s=1.0,
            tls_timeout_s=1.0,
            http_timeout_s=2.0,
        )
        yield World(settings, system_dns, platform.port, plain.port, censor.port)
