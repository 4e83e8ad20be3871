"""An OONI measurement classified into Balise's outcome: a `TargetResult` (the first failing
layer dns|tcp|tls|http and its failure string) and a verdict.

The layer rules follow the probe's chain (docs/architecture.md), read from OONI's keys:

- DNS: the system resolver (`system`, `getaddrinfo`) gave no usable address: its failure,
  or `dns_bogon_error` when every answer is a private/reserved address. Also DNS when its
  addresses share none with the control's and TCP or TLS then failed on them.
- TCP: every connect failed (the first one's failure).
- TLS: the first handshake failed.
- HTTP: a fetch met a block page (a redirect to, or a page from, a known block-page
  host or with a block-page phrase over plain HTTP): `http_request_failed`; else the
  first fetch failed (its failure).

Verdicts: `accessible` (no layer failed), `known_bug` (known_bugs.py), `inconclusive` (the
control could not reach the site either), else `blocking`. OONI's own verdict is kept
beside ours: they disagree on purpose where OONI's probe missed a block page.
"""

import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import json
from typing import Literal, get_args
from urllib.parse import urljoin, urlsplit

import msgspec

from balise.model import failures
from balise.model.blockpages import BLOCKPAGE_HOSTS, BLOCKPAGE_PHRASES
from balise.model.catalog import Catalog
from balise.model.failures import Failure
from balise.model.layers import Layer
from balise.model.results import DnsResult, HttpResult, TargetResult, TcpResult, TlsResult
from collector.ooni import format as ooni
from collector.ooni.known_bugs import known_bug

Verdict = Literal["blocking", "accessible", "known_bug", "inconclusive"]
FAILURES: frozenset[str] = frozenset(get_args(Failure))
SYSTEM_ENGINES = frozenset({"system", "getaddrinfo"})
# OONI nettests of one platform, whose measurements have no URL input.
TEST_TARGETS = {
    "signal": "signal",
    "whatsapp": "whatsapp",
    "telegram": "telegram",
    "facebook_messenger": "facebook",
}


class Classified(msgspec.Struct, frozen=True, kw_only=True):
    uid: str  # OONI's measurement_uid, else a digest of the measurement (digest_of)
    source: str = "ooni"
    time: float
    country: str
    asn: int
    network: str
    test_name: str
    input: str
    target: str
    verdict: Verdict
    reason: str
    ooni_blocking: str | None  # OONI's verdict as it said it ("false", "dns", "tcp_ip", …)
    ooni_failure: str | None  # OONI's failure string at the failed layer, as it wrote it
    report_id: str
    software: str
    result: TargetResult


def _failure(text: str | None) -> Failure | None:
    """OONI's string in our vocabulary; a string we do not know becomes `unknown_failure`."""
    if text is None:
        return None
    return text if text in FAILURES else failures.UNKNOWN_FAILURE  # type: ignore[return-value]


def _bogon(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not ip.is_global


def _dns(q: ooni.DnsQuery) -> DnsResult | None:
    qtype: Literal["A", "AAAA"] = "AAAA" if q.query_type == "AAAA" else "A"
    engine = q.engine or "system"
    resolver = "system" if engine in SYSTEM_ENGINES else f"{engine}:{q.resolver_address or ''}"
    answers = tuple(a for ans in q.answers or () for a in (ans.ipv4, ans.ipv6) if a is not None)
    return DnsResult(
        t0=q.t0 if q.t0 is not None else (q.t or 0.0),
        t=q.t or 0.0,
        failure=_failure(q.failure),
        domain=q.hostname or "",
        qtype=qtype,
        resolver=resolver,
        answers=answers,
        bogon=q.x_bogon if q.x_bogon is not None else any(_bogon(a) for a in answers),
    )


def _tcp(c: ooni.TcpConnect) -> TcpResult:
    status = c.status or ooni.TcpStatus()
    failure = _failure(status.failure)
    if failure is None and status.success is False:
        failure = failures.UNKNOWN_FAILURE
    return TcpResult(
        t0=c.t0 if c.t0 is not None else (c.t or 0.0),
        t=c.t or 0.0,
        failure=failure,
        address=c.ip or "",
        port=c.port or 0,
        control="control" in (c.tags or ()),
    )


def _endpoint(address: str | None) -> tuple[str, int]:
    host, _, port = (address or "").rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0


def _tls(h: ooni.TlsHandshake) -> TlsResult:
    address, port = _endpoint(h.address)
    return TlsResult(
        t0=h.t0 if h.t0 is not None else (h.t or 0.0),
        t=h.t or 0.0,
        failure=_failure(h.failure),
        address=address,
        port=port or 443,
        sni=h.server_name or "",
        version=h.tls_version or None,
    )


def _body(response: ooni.HttpResponse) -> bytes:
    body = response.body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, dict) and body.get("format") == "base64":
        try:
            return base64.b64decode(str(body.get("data", "")))
        except (binascii.Error, ValueError):
            return b""
    return b""


def _location(response: ooni.HttpResponse | None) -> str | None:
    headers = (response.headers or {}) if response else {}
    value = next((v for k, v in headers.items() if k.lower() == "location"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def blockpage_of(url: str, body: bytes | None) -> str | None:
    """The block-page hint a URL or a plain-HTTP body shows (balise.model.blockpages)."""
    host = (urlsplit(url).hostname or "").lower()
    for marker in BLOCKPAGE_HOSTS:
        if marker in host:
            return f"host:{marker}"
    if body is not None and url.startswith("http:"):
        text = body.decode("utf-8", errors="replace").lower()
        for phrase in BLOCKPAGE_PHRASES:
            if phrase in text:
                return f"body:{phrase}"
    return None


def _fetches(transactions: list[ooni.HttpTransaction]) -> tuple[HttpResult, ...]:
    """OONI lists requests newest first; hops joined by a redirect make one fetch."""
    out: list[HttpResult] = []
    previous_location: str | None = None
    for tx in reversed(transactions):
        url = (tx.request.url if tx.request else None) or ""
        response = tx.response
        status = response.code if response and response.code else None
        location = _location(response)
        body = _body(response) if response else b""
        hint = blockpage_of(url, body) or (
            blockpage_of(urljoin(url, location), None) if location else None
        )
        follows = (
            out and previous_location is not None and urljoin(out[-1].url, previous_location) == url
        )
        if follows:
            first = out.pop()
            out.append(
                msgspec.structs.replace(
                    first,
                    t=tx.t or first.t,
                    failure=_failure(tx.failure),
                    status=status,
                    redirects=(*first.redirects, url),
                    blockpage=first.blockpage or hint,
                )
            )
        else:
            out.append(
                HttpResult(
                    t0=tx.t0 if tx.t0 is not None else (tx.t or 0.0),
                    t=tx.t or 0.0,
                    failure=_failure(tx.failure),
                    url=url,
                    status=status,
                    blockpage=hint,
                )
            )
        previous_location = location
    return tuple(out)


def _judge(
    result: TargetResult, control: ooni.Control | None, raw: dict[str, str | None]
) -> tuple[Layer | None, Failure | None]:
    """The first failing layer; `raw` collects OONI's own failure string per layer."""
    system = [d for d in result.dns if d.resolver == "system"]
    usable = [a for d in system for a in d.answers if not (d.bogon and _bogon(a))]
    if system and not usable:
        errors = (d.failure for d in system if d.failure not in {None, failures.DNS_NO_ANSWER})
        failure = next(errors, None)
        if failure is None:
            failure = failures.DNS_BOGON if any(d.bogon for d in system) else failures.DNS_NO_ANSWER
        return Layer.DNS, failure
    layer, failure = _downstream(result)
    addrs = set(control.dns.addrs or ()) if control and control.dns else set()
    misled = addrs and usable and not addrs.intersection(usable)
    if layer in {Layer.TCP, Layer.TLS} and misled:
        raw[Layer.DNS] = raw.get(layer)
        return Layer.DNS, failure
    return layer, failure


def _downstream(result: TargetResult) -> tuple[Layer | None, Failure | None]:
    tried = [t for t in result.tcp if not t.control]
    if tried and all(t.failure for t in tried):
        return Layer.TCP, tried[0].failure
    if result.tls and result.tls[0].failure:
        return Layer.TLS, result.tls[0].failure
    if any(h.blockpage for h in result.http):
        return Layer.HTTP, failures.HTTP_REQUEST_FAILED
    if result.http and result.http[0].failure:
        return Layer.HTTP, result.http[0].failure
    return None, None


def _raw_failures(keys: ooni.TestKeys) -> dict[str, str | None]:
    tcp = [c.status.failure for c in keys.tcp_connect or () if c.status and c.status.failure]
    tls = [h.failure for h in keys.tls_handshakes or () if h.failure]
    http = [r.failure for r in reversed(keys.requests or ()) if r.failure]
    dns = [q.failure for q in keys.queries or () if q.failure and q.failure != "dns_no_answer"]
    return {
        Layer.DNS: dns[0] if dns else None,
        Layer.TCP: tcp[0] if tcp else None,
        Layer.TLS: tls[0] if tls else None,
        Layer.HTTP: http[0] if http else None,
    }


def _time(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        when = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ooni.OoniFormatError(
            f"measurement_start_time {text!r} is not YYYY-MM-DD HH:MM:SS"
        ) from None
    return when.timestamp()


def _asn(text: str | None) -> int:
    digits = (text or "").upper().removeprefix("AS")
    return int(digits) if digits.isdigit() else 0


def target_of(m: ooni.Measurement, catalog: Catalog) -> str:
    """The catalog target the measurement is about, else the input's host name."""
    test = m.test_name or ""
    if test in TEST_TARGETS:
        return TEST_TARGETS[test]
    host = (urlsplit(m.input or "").hostname or "").lower().removeprefix("www.")
    for target in catalog.targets:
        names = {target.domain, target.http_domain or ""}
        if host in {n.lower().removeprefix("www.") for n in names if n}:
            return target.id
    return host or test or "unknown"


def digest_of(data: bytes) -> str:
    """A measurement's identity when OONI gave it no `measurement_uid`: a digest of its
    canonical JSON, so the same measurement imported twice, however formatted, is one row."""
    canonical = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def classify(m: ooni.Measurement, catalog: Catalog, *, digest: str) -> Classified:
    """`digest`: digest_of() the measurement's bytes, its uid when OONI gave none."""
    keys = m.test_keys or ooni.TestKeys()
    dns = tuple(d for d in map(_dns, keys.queries or ()) if d is not None)
    target = target_of(m, catalog)
    result = TargetResult(
        target=target,
        dns=dns,
        tcp=tuple(map(_tcp, keys.tcp_connect or ())),
        tls=tuple(map(_tls, keys.tls_handshakes or ())),
        http=_fetches(list(keys.requests or ())),
    )
    raw = _raw_failures(keys)
    layer, failure = _judge(result, keys.control, raw)
    result = msgspec.structs.replace(result, failed_layer=layer, failure=failure)
    test_name = m.test_name or "unknown"
    verdict, reason = _verdict(test_name, result, keys)
    ooni_blocking = keys.blocking if keys.blocking is not None else keys.signal_backend_status
    time = _time(m.measurement_start_time)
    uid = m.measurement_uid or digest
    return Classified(
        uid=uid,
        time=time,
        country=(m.probe_cc or "ZZ").upper(),
        asn=_asn(m.probe_asn),
        network=m.probe_network_name or "",
        test_name=test_name,
        input=m.input or "",
        target=target,
        verdict=verdict,
        reason=reason,
        ooni_blocking=None if ooni_blocking is None else str(ooni_blocking).lower(),
        ooni_failure=raw.get(layer) if layer else None,
        report_id=m.report_id or "",
        software=f"{m.software_name or '?'} {m.software_version or '?'}",
        result=result,
    )


def _verdict(test_name: str, result: TargetResult, keys: ooni.TestKeys) -> tuple[Verdict, str]:
    layer, failure = result.failed_layer, result.failure
    if layer is None:
        return "accessible", "no layer failed"
    bug = known_bug(test_name, layer, failure)
    if bug is not None:
        return "known_bug", f"{bug.reference}: {bug.why}"
    control = keys.control
    if keys.control_failure or (control and control.http_request and control.http_request.failure):
        return "inconclusive", "the control could not reach the site either"
    hint = next((h.blockpage for h in result.http if h.blockpage), None)
    if hint:
        return "blocking", f"block page ({hint})"
    return "blocking", f"{layer.value} failed: {failure}"
