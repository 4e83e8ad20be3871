"""TLS: a handshake with the real SNI, verified; after a failure, one with a decoy SNI.

The decoy (a name no censor targets) goes to the same address without verifying
the certificate: if it completes where the real name failed, the name was blocked.
A successful real-SNI handshake keeps its connection for the HTTPS HEAD (`connected`).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec

from balise.model import failures
from balise.model.failures import Failure
from balise.model.results import TlsResult
from probe.backend import Backend, Streams, TlsConnection
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
    """The handshakes alone, their connection closed."""
    async with connected(config, backend) as (result, _):
        return result


@asynccontextmanager
async def connected(
    config: Config, backend: Backend, stream: Streams | None = None
) -> AsyncIterator[tuple[TlsResult, TlsConnection | None]]:
    """The handshakes' result and, after a successful real-SNI handshake, its connection,
    open until the block exits. The real-SNI handshake goes over `stream` when given (the
    TCP step's connection to `config.address`); a decoy always opens its own."""
    result, connection = await _handshake(
        config, config.sni, verify=True, backend=backend, stream=stream
    )
    try:
        if connection is None and config.decoy_sni and config.decoy_sni != config.sni:
            decoy, decoy_connection = await _handshake(
                config, config.decoy_sni, verify=False, backend=backend
            )
            if decoy_connection is not None:
                decoy_connection.close()
            result = msgspec.structs.replace(result, decoy=decoy)
        yield result, connection
    finally:
        if connection is not None:
            connection.close()


async def _handshake(
    config: Config, sni: str, *, verify: bool, backend: Backend, stream: Streams | None = None
) -> tuple[TlsResult, TlsConnection | None]:
    t0 = config.clock.now()
    connection: TlsConnection | None = None
    failure: Failure | None = None
    try:
        async with asyncio.timeout(config.timeout):
            connection = await backend.tls_connect(
                config.address, config.port, sni, verify=verify, stream=stream
            )
    except Exception as exc:  # noqa: BLE001 - every failure of the step is data
        failure = classify(exc)
        if connection is not None:  # the timeout struck just after the handshake
            connection.close()
            connection = None
    cert_valid: bool | None = None
    if verify and failure is None:
        cert_valid = True
    elif verify and failure in CERTIFICATE_FAILURES:
        cert_valid = False
    result = TlsResult(
        t0=t0,
        t=config.clock.now(),
        failure=failure,
        address=config.address,
        port=config.port,
        sni=sni,
        version=connection.version if connection is not None else None,
        cert_valid=cert_valid,
        resumed=connection is not None and connection.resumed,
    )
    return result, connection
