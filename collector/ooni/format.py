"""The parts of an OONI measurement (ooni/spec df-000 … df-008, ts-017) the importer reads.

Every field may be null or missing in real data, so every field has a default; unknown
fields are ignored. msgspec's errors stop at `decode`, which raises OoniFormatError.
"""

from typing import Any

import msgspec


class OoniFormatError(ValueError):
    """Not an OONI measurement; the message says where and why."""


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    answer_type: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None


class DnsQuery(msgspec.Struct, frozen=True, kw_only=True):
    answers: list[Answer] | None = None
    engine: str | None = None
    failure: str | None = None
    hostname: str | None = None
    query_type: str | None = None
    resolver_address: str | None = None
    t0: float | None = None
    t: float | None = None
    x_bogon: bool | None = None  # Balise's own exports say whether an answer was a bogon


class TcpStatus(msgspec.Struct, frozen=True, kw_only=True):
    failure: str | None = None
    success: bool | None = None


class TcpConnect(msgspec.Struct, frozen=True, kw_only=True):
    ip: str | None = None
    port: int | None = None
    status: TcpStatus | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None


class TlsHandshake(msgspec.Struct, frozen=True, kw_only=True):
    address: str | None = None
    failure: str | None = None
    server_name: str | None = None
    tls_version: str | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    url: str | None = None


class HttpResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int | None = None
    headers: dict[str, Any] | None = None
    body: str | dict[str, Any] | None = None  # a string, or {"format": "base64", "data": …}


class HttpTransaction(msgspec.Struct, frozen=True, kw_only=True):
    failure: str | None = None
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    t0: float | None = None
    t: float | None = None


class ControlDns(msgspec.Struct, frozen=True, kw_only=True):
    failure: str | None = None
    addrs: list[str] | None = None


class ControlHttp(msgspec.Struct, frozen=True, kw_only=True):
    failure: str | None = None
    status_code: int | None = None


class ControlEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    status: bool | None = None
    failure: str | None = None


class Control(msgspec.Struct, frozen=True, kw_only=True):
    dns: ControlDns | None = None
    http_request: ControlHttp | None = None
    tcp_connect: dict[str, ControlEndpoint] | None = None
    tls_handshake: dict[str, ControlEndpoint] | None = None


class TestKeys(msgspec.Struct, frozen=True, kw_only=True):
    queries: list[DnsQuery] | None = None
    tcp_connect: list[TcpConnect] | None = None
    tls_handshakes: list[TlsHandshake] | None = None
    requests: list[HttpTransaction] | None = None
    control: Control | None = None
    control_failure: str | None = None
    blocking: str | bool | None = None  # web_connectivity's verdict: false, "dns", "tcp_ip", …
    accessible: bool | None = None
    failure: str | None = None
    signal_backend_status: str | None = None
    signal_backend_failure: str | None = None


class Measurement(msgspec.Struct, frozen=True, kw_only=True):
    input: str | None = None
    measurement_start_time: str | None = None
    measurement_uid: str | None = None
    probe_asn: str | None = None
    probe_cc: str | None = None
    probe_network_name: str | None = None
    report_id: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    test_name: str | None = None
    test_keys: TestKeys | None = None


_decoder = msgspec.json.Decoder(Measurement)


def decode(data: bytes) -> Measurement:
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise OoniFormatError(str(exc)) from None
