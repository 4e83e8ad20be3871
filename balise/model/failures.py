"""The failure vocabulary, OONI's strings (ooni/spec df-007-errors).

A network failure is data: a measurement step that failed carries one of these
strings in its `failure` field; `None` means the step succeeded.
"""

from typing import Final, Literal

Failure = Literal[
    "connection_refused",
    "connection_reset",
    "generic_timeout_error",
    "eof_error",
    "dns_nxdomain_error",
    "dns_no_answer",
    "dns_refused_error",
    "dns_server_failure",
    "dns_bogon_error",
    "ssl_unknown_authority",
    "ssl_invalid_hostname",
    "ssl_invalid_certificate",
    "ssl_failed_handshake",
    "host_unreachable",
    "network_unreachable",
    "http_request_failed",
    "unknown_failure",
]

CONNECTION_REFUSED: Final = "connection_refused"
CONNECTION_RESET: Final = "connection_reset"
GENERIC_TIMEOUT: Final = "generic_timeout_error"
EOF_ERROR: Final = "eof_error"
DNS_NXDOMAIN: Final = "dns_nxdomain_error"
DNS_NO_ANSWER: Final = "dns_no_answer"
DNS_REFUSED: Final = "dns_refused_error"
DNS_SERVER_FAILURE: Final = "dns_server_failure"
DNS_BOGON: Final = "dns_bogon_error"
SSL_UNKNOWN_AUTHORITY: Final = "ssl_unknown_authority"
SSL_INVALID_HOSTNAME: Final = "ssl_invalid_hostname"
SSL_INVALID_CERTIFICATE: Final = "ssl_invalid_certificate"
SSL_FAILED_HANDSHAKE: Final = "ssl_failed_handshake"
HOST_UNREACHABLE: Final = "host_unreachable"
NETWORK_UNREACHABLE: Final = "network_unreachable"
HTTP_REQUEST_FAILED: Final = "http_request_failed"
UNKNOWN_FAILURE: Final = "unknown_failure"
