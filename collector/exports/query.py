"""What an export or an API request selects, parsed from text (command line or URL).

Every parameter is checked here; a bad one raises `QueryError` naming it, which the
command line prints and the API answers with 400.
"""

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from balise.model.events import Event, EventKind
from balise.model.layers import Access

COUNTRY = re.compile(r"[A-Za-z]{2}")
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")  # probe and platform ids
ASN = re.compile(r"(?:[Aa][Ss])?([0-9]{1,10})")
ISO_TIME = re.compile(  # the extended ISO 8601 forms; the OpenAPI document has the same pattern
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
MAX_LIMIT = 1000
DIGITS = re.compile(r"[0-9]{1,9}")
MAX_REGION = 100
E = TypeVar("E", Access, EventKind)


class QueryError(ValueError):
    """A parameter is wrong: `parameter` names it, the message says why."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"parameter {parameter!r}: {problem}")
        self.parameter = parameter


class Query(msgspec.Struct, frozen=True, kw_only=True):
    """Filters; an unset one selects everything. Times are unix seconds, [since, until)."""

    since: float | None = None
    until: float | None = None
    country: str | None = None
    region: str | None = None
    asn: int | None = None
    access: Access | None = None
    platform: str | None = None
    kind: EventKind | None = None
    probe: str | None = None


FILTERS = tuple(Query.__struct_fields__)


def parse_time(parameter: str, text: str) -> float:
    """ISO 8601 (`2025-06-15T12:00:00Z`, a date, an offset); without an offset it is UTC."""
    problem = f"{text!r} is not an ISO 8601 time (e.g. 2025-06-15T12:00:00Z)"
    if not ISO_TIME.fullmatch(text):
        raise QueryError(parameter, problem)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(parameter, problem) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def parse_query(params: Mapping[str, str]) -> Query:
    """The filters among `params` (other keys are left to the caller)."""
    values: dict[str, object] = {}
    for key in ("since", "until"):
        if (text := params.get(key)) is not None:
            values[key] = parse_time(key, text)
    for key, parse in _PARSERS.items():
        if (text := params.get(key)) is not None:
            values[key] = parse(key, text)
    query = Query(**values)  # type: ignore[arg-type]
    if query.since is not None and query.until is not None and query.until <= query.since:
        raise QueryError("until", "must be after since")
    return query


def _country(key: str, text: str) -> str:
    if not COUNTRY.fullmatch(text):
        raise QueryError(key, f"{text!r} is not an ISO 3166-1 alpha-2 code")
    return text.upper()


def _region(key: str, text: str) -> str:
    if not text.strip() or len(text) > MAX_REGION:
        raise QueryError(key, f"must be 1 to {MAX_REGION} characters")
    return text.strip()


def _asn(key: str, text: str) -> int:
    match = ASN.fullmatch(text)
    if not match or int(match.group(1)) >= 2**32:
        raise QueryError(key, f"{text!r} is not an AS number (e.g. 44244 or AS44244)")
    return int(match.group(1))


def _name(key: str, text: str) -> str:
    if not NAME.fullmatch(text):
        raise QueryError(key, f"{text!r} is not an id (lower-case letters, digits, -_.)")
    return text


def _access(key: str, text: str) -> Access:
    return _choice(key, text, Access)


def _kind(key: str, text: str) -> EventKind:
    return _choice(key, text, EventKind)


_PARSERS: dict[str, Callable[[str, str], object]] = {
    "country": _country,
    "region": _region,
    "asn": _asn,
    "access": _access,
    "kind": _kind,
    "platform": _name,
    "probe": _name,
}


def parse_limit(text: str | None, default: int) -> int:
    if text is None:
        return default
    if not DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise QueryError("limit", f"must be a whole number from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


def _choice(parameter: str, text: str, choices: type[E]) -> E:
    try:
        return choices(text)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise QueryError(parameter, f"{text!r} is not one of {allowed}") from None


def event_matches(event: Event, query: Query) -> bool:
    """The event overlaps [since, until) and its scope, platform and kind match the filters."""
    if query.until is not None and event.start >= query.until:
        return False
    if query.since is not None and event.end is not None and event.end < query.since:
        return False
    scope = event.scope
    wanted = (
        (query.country, scope.country),
        (query.region, scope.region),
        (query.asn, scope.asn),
        (query.access, scope.access),
        (query.probe, scope.probe),
        (query.platform, event.platform),
        (query.kind, event.kind),
    )
    return all(want is None or want == have for want, have in wanted)
