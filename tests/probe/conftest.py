import ipaddress
from collections.abc import AsyncIterator

import pytest

from probe.backend import NetworkBackend
from probe.measurements.timing import RoundClock
from tests.support.local_dns import LocalDns
from tests.support.local_tls import Pki

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
