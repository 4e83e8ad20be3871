"""Exceptions no loopback test provokes naturally, classified from real instances."""

import errno
import ssl

import dns.exception
import dns.resolver
import h11
import pytest

from probe.classify import MeasurementFailure, classify, classify_rcode


def chained(outer: Exception, inner: Exception) -> Exception:
    outer.__cause__ = inner  # what `raise outer from inner` leaves behind
    return outer


@pytest.mark.parametrize(
    ("exc", "failure"),
    [
        (dns.resolver.NXDOMAIN(), "dns_nxdomain_error"),
        (dns.resolver.NoAnswer(), "dns_no_answer"),
        (dns.exception.Timeout(), "generic_timeout_error"),
        (chained(EOFError("closed mid-response"), h11.RemoteProtocolError("x")), "eof_error"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "x"), "connection_refused"),
        (OSError(errno.ENETUNREACH, "x"), "network_unreachable"),
        (TimeoutError(), "generic_timeout_error"),
        (h11.RemoteProtocolError("illegal status line"), "http_request_failed"),
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
