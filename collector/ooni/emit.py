"""One Balise measurement as an OONI measurement (ooni/spec data-formats).

The envelope is df-000; the test keys are those of OONI's `urlgetter` nettest, whose keys
are exactly the data formats a chain produces: `queries` (df-002 DNS), `tcp_connect`
(df-005), `tls_handshakes` (df-006) and `requests` (df-001 HTTP), plus `failure` and
`failed_operation`. `software_name` is "balise" so nobody mistakes it for ooniprobe's
output. Balise-only details use OONI's `x_` prefix for extensions.
"""

import datetime as dt
import ipaddress
from typing import Any

from balise.model.results import DnsResult, HttpResult, TargetResult, TcpResult, TlsResult
from collector.exports.source import Measurement

Json = dict[str, Any]

DATA_FORMAT_VERSION = "0.2.0"
TEST_NAME = "urlgetter"
FAILED_OPERATION = {
    "dns": "resolve",
    "tcp": "connect",
    "tls": "tls_handshake",
    "http": "http_round_trip",
}
_TOR = {"exit_ip": None, "exit_name": None, "is_tor": False}


def ooni_time(t: float) -> str:
    """OONI's `YYYY-MM-DD HH:MM:SS`, UTC."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def measurement(m: Measurement) -> Json:
    r = m.result
    started = ooni_time(m.time)
    stamp = dt.datetime.fromtimestamp(m.time, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    steps = (
        [s.t for s in r.dns] + [s.t for s in r.tcp] + [s.t for s in r.tls] + [s.t for s in r.http]
    )
    return {
        "annotations": {
            "engine_name": "balise",
            "network_type": m.access,
            "balise_probe": m.probe,
            "balise_seq": str(m.seq),
            "balise_target": r.target,
        },
        "data_format_version": DATA_FORMAT_VERSION,
        "input": _input(r),
        "measurement_start_time": started,
        "probe_asn": f"AS{m.asn}",
        "probe_cc": m.country or "ZZ",
        "probe_ip": "127.0.0.1",  # OONI's placeholder: the probe's address is never published
        "probe_network_name": m.network,
        "report_id": f"{stamp}_{TEST_NAME}_{m.country or 'ZZ'}_{m.asn}_n1_balise-{m.probe}-{m.seq}",
        "resolver_asn": "AS0",
        "resolver_ip": "",
        "resolver_network_name": "",
        "software_name": "balise",
        "software_version": m.software or "unknown",
        "test_name": TEST_NAME,
        "test_runtime": round(max(steps, default=0.0), 6),
        "test_start_time": started,
        "test_version": "balise-chain-1",
        "test_keys": test_keys(r),
    }


def test_keys(r: TargetResult) -> Json:
    failure = r.failure
    return {
        "agent": "redirect",
        "failed_operation": FAILED_OPERATION[r.failed_layer] if r.failed_layer else None,
        "failure": failure,
        "queries": [query(d) for d in r.dns],
        "tcp_connect": [connect(t) for t in r.tcp],
        "tls_handshakes": [h for t in r.tls for h in handshakes(t)],
        "requests": [req for h in r.http for req in requests(h)],
        "x_balise_failed_layer": r.failed_layer,
        "x_balise_truncated": r.truncated,
    }


def _input(r: TargetResult) -> str:
    https = next((h.url for h in r.http if h.url.startswith("https:")), None)
    if https:
        return https
    domain = next((d.domain for d in r.dns), None) or next((t.sni for t in r.tls), None)
    return f"https://{domain or r.target}/"


def _resolver(resolver: str) -> tuple[str, str]:
    """Balise's resolver label as OONI's (engine, resolver_address)."""
    kind, _, where = resolver.partition(":")
    if kind == "doh":
        return "doh", where
    if kind == "udp":
        return "udp", where
    return "system", ""


def query(d: DnsResult) -> Json:
    engine, address = _resolver(d.resolver)
    answers = []
    for a in d.answers:
        version = ipaddress.ip_address(a).version
        answers.append(
            {"answer_type": "A" if version == 4 else "AAAA", f"ipv{version}": a, "ttl": None}  # noqa: PLR2004
        )
    return {
        "answers": answers or None,
        "engine": engine,
        "failure": d.failure,
        "hostname": d.domain,
        "query_type": d.qtype,
        "resolver_address": address,
        "resolver_hostname": None,
        "resolver_port": None,
        "t0": d.t0,
        "t": d.t,
        "x_rcode": d.rcode,
        "x_bogon": d.bogon,  # the probe's verdict, which knows its lab's exempt ranges
    }


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def connect(t: TcpResult) -> Json:
    return {
        "ip": t.address,
        "port": t.port,
        "status": {"blocked": None, "failure": t.failure, "success": t.failure is None},
        "t0": t.t0,
        "t": t.t,
        "tags": ["control"] if t.control else [],
    }


def handshakes(t: TlsResult, tags: tuple[str, ...] = ()) -> list[Json]:
    """The handshake, then its decoy retry (tagged `decoy`) when there was one."""
    out = [
        {
            "address": _endpoint(t.address, t.port),
            "cipher_suite": "",
            "failure": t.failure,
            "negotiated_protocol": "",
            "no_tls_verify": False,
            "peer_certificates": None,
            "server_name": t.sni,
            "t0": t.t0,
            "t": t.t,
            "tags": list(tags),
            "tls_version": t.version or "",
        }
    ]
    if t.decoy is not None:
        out += handshakes(t.decoy, ("decoy",))
    return out


def requests(h: HttpResult) -> list[Json]:
    """Every hop fetched, the last first as OONI lists them. Only the last fetched hop's
    status is known; each hop carries the `Location` it redirected to. A redirect to a
    known block-page host is not followed, so that host appears as a `Location` only."""
    hops = (h.url, *h.redirects)
    fetched = hops[:-1] if (h.blockpage or "").startswith("host:") else hops
    out = []
    for i, url in enumerate(fetched):
        last = i == len(fetched) - 1
        headers = {"Location": hops[i + 1]} if i + 1 < len(hops) else {}
        out.append(
            {
                "failure": h.failure if last else None,
                "request": {
                    "body": "",
                    "body_is_truncated": False,
                    "headers_list": [],
                    "headers": {},
                    "method": "GET",
                    "tor": _TOR,
                    "x_transport": "tcp",
                    "url": url,
                },
                "response": {
                    "body": "",
                    "body_is_truncated": False,
                    "code": (h.status or 0) if last else None,
                    "headers_list": [[k, v] for k, v in headers.items()],
                    "headers": headers,
                    "x_body_length": h.body_length if last else None,
                    "x_title": h.title if last else None,
                },
                "t0": h.t0,
                "t": h.t,
                "x_blockpage": h.blockpage if last else None,
            }
        )
    out.reverse()
    return out
