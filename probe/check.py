"""`balise probe check`: one round's results as a plain-text table a field partner can read.

One row per target, each layer "ok" with its duration or the failure string ("-"
when not measured), the verdict (first failing layer), then the anchors.
"""

from collections.abc import Sequence
from typing import Protocol

from balise.model.results import (
    AnchorResult,
    DnsResult,
    HttpResult,
    TargetResult,
    TcpResult,
    TlsResult,
)

NOT_MEASURED = "-"
GAP = "  "
Row = tuple[str, ...]


class _Timed(Protocol):
    @property
    def t0(self) -> float: ...
    @property
    def t(self) -> float: ...


def render_check(targets: Sequence[TargetResult], anchors: Sequence[AnchorResult]) -> str:
    rows: list[Row] = [("target", "DNS", "TCP", "TLS", "HTTPS", "HTTP", "verdict", "took")]
    rows.extend(_target_row(result) for result in targets)
    lines = _table(rows)
    if anchors:
        lines.append("")
        anchor_rows: list[Row] = [("anchor", "role", "method", "address", "result")]
        anchor_rows.extend(_anchor_row(result) for result in anchors)
        lines.extend(_table(anchor_rows))
    return "\n".join(lines) + "\n"


def _target_row(result: TargetResult) -> Row:
    https = [h for h in result.http if h.url.startswith("https:")]
    plain = [h for h in result.http if not h.url.startswith("https:")]
    if result.failed_layer is not None:
        verdict = f"{result.failed_layer.value.upper()} {result.failure}"
    elif result.truncated:
        verdict = "cut by deadline"
    else:
        verdict = "ok"
    if result.truncated and result.failed_layer is not None:
        verdict += " (cut by deadline)"
    steps: list[_Timed] = [*result.dns, *result.tcp, *result.tls, *result.http]
    return (
        result.target,
        _dns(result.dns),
        _tcp(result.tcp),
        _tls(result.tls),
        _http(https),
        _http(plain),
        verdict,
        f"{max(s.t for s in steps) - min(s.t0 for s in steps):.1f}s" if steps else NOT_MEASURED,
    )


def _dns(results: Sequence[DnsResult]) -> str:
    system = [r for r in results if r.resolver == "system"]
    if not system:
        return NOT_MEASURED
    first = next((r for r in system if r.answers), system[0])
    if first.failure:
        return first.failure
    text = f"{_ms(first)} {first.answers[0]}"
    return f"bogon {first.answers[0]}" if first.bogon else text


def _tcp(results: Sequence[TcpResult]) -> str:
    tried = [r for r in results if not r.control]
    if not tried:
        return NOT_MEASURED
    ok = [r for r in tried if r.failure is None]
    text = _ms(ok[0]) if ok else str(tried[0].failure)
    controls = [r for r in results if r.control]
    if controls:
        text += " ctl " + ("ok" if any(r.failure is None for r in controls) else "fail")
    return text


def _tls(results: Sequence[TlsResult]) -> str:
    if not results:
        return NOT_MEASURED
    first = results[0]
    if first.failure is None:
        return f"{_ms(first)} {first.version}"
    if first.decoy is not None:
        return f"{first.failure} decoy {'ok' if first.decoy.failure is None else 'fail'}"
    return str(first.failure)


def _http(results: Sequence[HttpResult]) -> str:
    if not results:
        return NOT_MEASURED
    first = results[0]
    if first.blockpage:
        return f"blockpage {first.blockpage}"
    if first.failure:
        return first.failure
    return f"{first.status} {_ms(first)}"


def _anchor_row(result: AnchorResult) -> Row:
    outcome = result.failure or f"ok {result.rtt_ms or 0:.1f}ms"
    return (result.anchor, result.role, result.method, result.address, outcome)


def _ms(result: _Timed) -> str:
    return f"ok {(result.t - result.t0) * 1e3:.0f}ms"


def _table(rows: Sequence[Row]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        GAP.join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
