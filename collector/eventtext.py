"""Events in words, for chat messages and dashboard annotations."""

import datetime as dt

from balise.model.events import Event, EventKind, Scope

KIND_NAMES: dict[EventKind, str] = {
    EventKind.NETWORK_SHUTDOWN: "Network shutdown",
    EventKind.SERVICE_BLOCK: "Service blocked",
    EventKind.THROTTLING: "Throttling",
    EventKind.PLATFORM_OUTAGE: "Platform outage",
    EventKind.PROBE_OFFLINE: "Probe offline",
}


def title(event: Event) -> str:
    """E.g. "Service blocked: tiktok (dns) in IR, AS44244, mobile"."""
    what = KIND_NAMES[event.kind]
    if event.platform:
        what += f": {event.platform}"
    if event.method:
        what += f" ({event.method})"
    where = scope_text(event.scope)
    return f"{what} in {where}" if where else what


def text(event: Event) -> str:
    """E.g. "open since 2025-05-27 23:11 UTC; 7 of 9 probes; confidence 0.85"."""
    if event.state == "open" or event.end is None:
        when = f"open since {_utc(event.start)}"
    else:
        when = f"closed: {_utc(event.start)} to {_utc(event.end)}"
    parts = [when]
    if event.total:
        parts.append(f"{event.affected} of {event.total} probes")
    parts.append(f"confidence {event.confidence:.2f}")
    if event.evidence.note:
        parts.append(event.evidence.note)
    return "; ".join(parts)


def summary(event: Event) -> str:
    """One line for a chat message."""
    return f"[{event.state.upper()}] {title(event)} — {text(event)}"


def scope_text(scope: Scope) -> str:
    parts = [scope.country, scope.region, f"AS{scope.asn}" if scope.asn else None]
    parts += [scope.access, f"probe {scope.probe}" if scope.probe else None]
    return ", ".join(p for p in parts if p)


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
