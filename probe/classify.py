"""The one place where exceptions become OONI failure strings (balise.model.failures).

Every measurement catches what its network step raised and asks `classify` what it
means. Foreign libraries (ssl, asyncio, dnspython, h11) are recognised here and
nowhere else. h11 and dnspython are looked up in `sys.modules` rather than
imported: when a library was never loaded, none of its exceptions can exist, and the
probe does not pay for importing it just to classify.
"""

import errno
import logging
import ssl
import sys
from typing import Final

from balise.model import failures as f
from balise.model.failures import Failure

log = logging.getLogger(__name__)


class MeasurementFailure(Exception):  # noqa: N818 - it is a failure, as OONI names them
    """A step failed in a way we observed ourselves (e.g. a DNS rcode, a bad status)."""

    def __init__(self, failure: Failure, detail: str = "") -> None:
        super().__init__(detail or failure)
        self.failure: Failure = failure


# OpenSSL X509_V_ERR_* codes, see openssl/x509_vfy.h
_UNKNOWN_AUTHORITY_CODES: Final = frozenset(
    {
        2,  # unable to get issuer certificate
        18,  # self-signed certificate
        19,  # self-signed certificate in certificate chain
        20,  # unable to get local issuer certificate
        21,  # unable to verify the first certificate
    }
)
_HOSTNAME_MISMATCH: Final = 62

_ERRNO: Final[dict[int, Failure]] = {
    errno.ECONNREFUSED: f.CONNECTION_REFUSED,
    errno.ECONNRESET: f.CONNECTION_RESET,
    errno.ECONNABORTED: f.CONNECTION_RESET,
    errno.EPIPE: f.CONNECTION_RESET,
    errno.ETIMEDOUT: f.GENERIC_TIMEOUT,
    errno.EHOSTUNREACH: f.HOST_UNREACHABLE,
    errno.EHOSTDOWN: f.HOST_UNREACHABLE,
    errno.ENETUNREACH: f.NETWORK_UNREACHABLE,
    errno.ENETDOWN: f.NETWORK_UNREACHABLE,
    errno.EADDRNOTAVAIL: f.NETWORK_UNREACHABLE,
}

_RCODES: Final[dict[str, Failure]] = {
    "NXDOMAIN": f.DNS_NXDOMAIN,
    "SERVFAIL": f.DNS_SERVER_FAILURE,
    "REFUSED": f.DNS_REFUSED,
}


def classify_rcode(rcode: str) -> Failure | None:
    """A DNS response code as a failure; NOERROR is not one (an empty answer is judged apart)."""
    if rcode == "NOERROR":
        return None
    return _RCODES.get(rcode, f.DNS_SERVER_FAILURE)


def classify(exc: BaseException) -> Failure:
    """Name the failure an exception stands for; `unknown_failure` when nothing fits."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify_one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    log.warning("unclassified failure: %r", exc)
    return f.UNKNOWN_FAILURE


def _classify_one(exc: BaseException) -> Failure | None:
    if isinstance(exc, MeasurementFailure):
        return exc.failure
    return _classify_library(exc) or _classify_tls(exc) or _classify_socket(exc)


def _classify_tls(exc: BaseException) -> Failure | None:
    if isinstance(exc, ssl.SSLCertVerificationError) and getattr(exc, "verify_code", None):
        return _classify_certificate(exc.verify_code)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | EOFError):
        return f.EOF_ERROR  # asyncio.IncompleteReadError is an EOFError
    if isinstance(exc, ssl.SSLError):
        return f.SSL_FAILED_HANDSHAKE
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        # asyncio's TLS layer raises a bare ConnectionResetError when the peer closes
        # during the handshake; a real reset carries ECONNRESET from the kernel.
        return f.EOF_ERROR
    return None


def _classify_socket(exc: BaseException) -> Failure | None:
    if isinstance(exc, TimeoutError):
        return f.GENERIC_TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return f.CONNECTION_REFUSED
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return f.CONNECTION_RESET
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    return None


def _classify_certificate(code: int) -> Failure:
    if code == _HOSTNAME_MISMATCH:
        return f.SSL_INVALID_HOSTNAME
    if code in _UNKNOWN_AUTHORITY_CODES:
        return f.SSL_UNKNOWN_AUTHORITY
    return f.SSL_INVALID_CERTIFICATE


def _classify_library(exc: BaseException) -> Failure | None:
    return _classify_dnspython(exc) or _classify_h11(exc)


def _classify_dnspython(exc: BaseException) -> Failure | None:
    resolver = sys.modules.get("dns.resolver")
    if resolver is not None:
        if isinstance(exc, resolver.NXDOMAIN):
            return f.DNS_NXDOMAIN
        if isinstance(exc, resolver.NoAnswer):
            return f.DNS_NO_ANSWER
        if isinstance(exc, resolver.NoNameservers | resolver.NoResolverConfiguration):
            return f.DNS_SERVER_FAILURE  # none answered usefully; or none is configured
    exception = sys.modules.get("dns.exception")
    if exception is not None:
        if isinstance(exc, exception.Timeout):
            return f.GENERIC_TIMEOUT
        if isinstance(exc, exception.FormError | exception.TooBig):
            return f.DNS_SERVER_FAILURE  # the server's answer could not be understood
    return None


def _classify_h11(exc: BaseException) -> Failure | None:
    """The server broke HTTP (probe/httpclient.py raises EOFError itself for a hang-up)."""
    h11 = sys.modules.get("h11")
    if h11 is not None and isinstance(exc, h11.ProtocolError):
        return f.HTTP_REQUEST_FAILED
    return None
