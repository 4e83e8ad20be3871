"""Exceptions no loopback test provokes naturally, classified from real instances."""

import errno
import ssl

import aiohttp
import dns.exception
import dns.resolver
import pytest
from aiohttp.client_reqrep import ConnectionKey

from probe.classify import MeasurementFailure, classify, classify_rcode

KEY = ConnectionKey(
    host="platform.test",
    port=443,
    is_ssl=True,
    ssl=True,
    proxy=None,
    proxy_auth=None,
    proxy_headers_hash=None,
    server_hostname=None,
)


def chained(outer: Exception, inner: Exception) -> Exception:
    outer.__cause__ = inner  # what `raise outer from inner` leaves behind
    return outer


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (dns.resolver.NXDOMAIN(), "dns_nxdomain_error"),
        (dns.resolver.NoAnswer(), "dns_no_answer"),
        (dns.exception.Timeout(), "generic_timeout_error"),
        (aiohttp.ServerDisconnectedError(), "eof_error"),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(errno.ECONNREFUSED, "x")),
            "connection_refused",
        ),
        (aiohttp.ClientConnectorError(KEY, OSError(errno.ENETUNREACH, "x")), "network_unreachable"),
        (aiohttp.ConnectionTimeoutError(), "generic_timeout_error"),
        (aiohttp.TooManyRedirects(None, ()), "http_request_failed"),  # type: ignore[arg-type]
        (OSError(errno.EHOSTUNREACH, "No route to host"), "host_unreachable"),
        (ssl.SSLError(1, "[SSL: UNSUPPORTED_PROTOCOL]"), "ssl_failed_handshake"),
        (
            chained(RuntimeError("wrapper"), ConnectionResetError(errno.ECONNRESET, "x")),
            "connection_reset",
        ),
        (MeasurementFailure("dns_bogon_error"), "dns_bogon_error"),
        (ValueError("a bug, not the network"), "unknown_failure"),
    ],
)
def test_classify(exc, failure):
    assert classify(exc) == failure


def test_rcodes():
    assert [
        classify_rcode(r) for r in ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "NOTIMP")
    ] == [
        None,
        "dns_nxdomain_error",
        "dns_server_failure",
        "dns_refused_error",
        "dns_server_failure",
    ]
