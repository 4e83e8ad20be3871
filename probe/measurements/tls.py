"""TLS: a handshake with the real SNI, verified; after a failure, one with a decoy SNI.

The decoy (a name no censor targets) goes to the same address without verifying
the certificate: if it completes where the real name failed, the name was blocked.
"""

import asyncio
from dataclasses import dataclass

import msgspec

from balise.model import failures
from balise.model.failures import Failure
from balise.model.results import TlsResult
from probe.backend import Backend
from probe.classify import classify
from probe.measurements.timing import RoundClock

CERTIFICATE_FAILURES: frozenset[Failure] = frozenset(
    {
        failures.SSL_INVALID_HOSTNAME,
        failures.SSL_UNKNOWN_AUTHORITY,
        failures.SSL_INVALID_CERTIFICATE,
    }
)


@dataclass(frozen=True, slots=True)
class Config:
    clock: RoundClock
    address: str
    port: int
    sni: str
    timeout: float
    decoy_sni: str | None = None  # None: no retry after a failure


async def run(config: Config, backend: Backend) -> TlsResult:
    result = await _handshake(config, config.sni, verify=True, backend=backend)
    if result.failure is None or not config.decoy_sni or config.decoy_sni == config.sni:
        return result
    decoy = await _handshake(config, config.decoy_sni, verify=False, backend=backend)
    return msgspec.structs.replace(result, decoy=decoy)


async def _handshake(config: Config, sni: str, *, verify: bool, backend: Backend) -> TlsResult:
    t0 = config.clock.now()
    version: str | None = None
    failure: Failure | None = None
    try:
        async with asyncio.timeout(config.timeout):
            version = await backend.tls_handshake(config.address, config.port, sni, verify=verify)
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        failure = classify(exc)
    cert_valid: bool | None = None
    if verify and failure is None:
        cert_valid = True
    elif verify and failure in CERTIFICATE_FAILURES:
        cert_valid = False
    return TlsResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        address=config.address,
        port=config.port,
        sni=sni,
        version=version,
        cert_valid=cert_valid,
    )
