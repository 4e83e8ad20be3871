import asyncio
import shutil
import subprocess

import pytest

from probe.backend import NetworkBackend
from probe.measurements import tcp, tls
from tests.support.local_tls import (
    FullBacklog,
    LocalServer,
    Pki,
    close_on_hello,
    never_answer,
    refused_port,
    reset_on_hello,
    sni_filter,
)


async def idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await never_answer(reader, writer)


def tcp_config(clock, port, timeout=2.0, address="127.0.0.1"):
    return tcp.Config(clock=clock, address=address, port=port, timeout=timeout)


def tls_config(clock, port, sni="platform.test", timeout=2.0, decoy="decoy.test"):
    return tls.Config(
        clock=clock, address="127.0.0.1", port=port, sni=sni, timeout=timeout, decoy_sni=decoy
    )


async def test_connect(clock, backend):
    async with LocalServer(idle) as server:
        result = await tcp.run(tcp_config(clock, server.port), backend)
    assert result.failure is None
    assert (result.address, result.port, result.control) == ("127.0.0.1", server.port, False)


async def test_connect_refused(clock, backend):
    result = await tcp.run(tcp_config(clock, refused_port()), backend)
    assert result.failure == "connection_refused"


async def test_connect_timeout_when_syns_are_dropped(clock, backend):
    backlog = FullBacklog()
    try:
        result = await tcp.run(tcp_config(clock, backlog.port, timeout=0.3), backend)
    finally:
        backlog.close()
    assert result.failure == "generic_timeout_error"
    assert result.t - result.t0 == pytest.approx(0.3, abs=0.2)


async def test_handshake_ok(clock, backend, pki: Pki):
    async with LocalServer(idle, context=pki.server_context("platform.test")) as server:
        result = await tls.run(tls_config(clock, server.port), backend)
    assert result.failure is None
    assert result.cert_valid is True
    assert result.version in {"TLSv1.2", "TLSv1.3"}
    assert result.decoy is None  # no retry after a success


async def test_wrong_name_then_decoy(clock, backend, pki: Pki):
    async with LocalServer(idle, context=pki.server_context("other.test")) as server:
        result = await tls.run(tls_config(clock, server.port), backend)
    assert result.failure == "ssl_invalid_hostname"
    assert result.cert_valid is False
    assert result.decoy is not None
    assert result.decoy.sni == "decoy.test"
    assert result.decoy.failure is None  # the decoy does not verify: the handshake completes
    assert result.decoy.cert_valid is None


async def test_unknown_authority(clock, backend, pki: Pki):
    context = pki.server_context("platform.test", rogue=True)
    async with LocalServer(idle, context=context) as server:
        result = await tls.run(tls_config(clock, server.port), backend)
    assert result.failure == "ssl_unknown_authority"
    assert result.cert_valid is False


async def test_reset_during_handshake(clock, backend):
    async with LocalServer(reset_on_hello) as server:
        result = await tls.run(tls_config(clock, server.port), backend)
    assert result.failure == "connection_reset"
    assert result.cert_valid is None
    assert result.decoy is not None
    assert result.decoy.failure == "connection_reset"


async def test_eof_during_handshake(clock, backend):
    async with LocalServer(close_on_hello) as server:
        result = await tls.run(tls_config(clock, server.port, decoy=None), backend)
    assert result.failure == "eof_error"
    assert result.decoy is None


async def test_server_that_never_answers_the_hello(clock, backend):
    async with LocalServer(never_answer) as server:
        result = await tls.run(tls_config(clock, server.port, timeout=0.3, decoy=None), backend)
    assert result.failure == "generic_timeout_error"


async def test_sni_blocking_shows_in_the_decoy(clock, backend, pki: Pki):
    context = pki.server_context("platform.test", "decoy.test")
    async with (
        LocalServer(idle, context=context) as real,
        LocalServer(sni_filter(("127.0.0.1", real.port), ("platform.test",))) as censor,
    ):
        result = await tls.run(tls_config(clock, censor.port), backend)
    assert result.failure == "connection_reset"
    assert result.decoy is not None
    assert result.decoy.failure is None


@pytest.mark.parametrize("trusted", [True, False])
async def test_the_system_ca_directory_is_trusted(clock, pki: Pki, tmp_path, monkeypatch, trusted):
    """Roots come from the system's hashed CA directory (SSL_CERT_DIR here), read as needed."""
    if trusted:
        name = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca_file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        shutil.copy(pki.ca_file, tmp_path / f"{name}.0")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    backend = NetworkBackend()  # no extra CA file: the system's trust alone
    async with LocalServer(idle, context=pki.server_context("platform.test")) as server:
        result = await tls.run(tls_config(clock, server.port, decoy=None), backend)
    assert result.failure == (None if trusted else "ssl_unknown_authority")
