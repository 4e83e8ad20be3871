"""Scoring rules of scenario-format.md: scope equivalence, one match per event, open events."""

import msgspec

from balise.lab import scenario, scorecard
from balise.model.events import Event, EventKind, Scope
from balise.model.layers import Access

T0 = 1_700_000_000.0

WORLD = """
format = 1
name = "scoring"
round_s = 10
duration_s = 300

[[network]]
name = "mobile-op"
asn = 64511
country = "NC"
region = "Sud"
access = "mobile"

[[network]]
name = "fixed-op"
asn = 64512
country = "NC"
region = "Sud"
access = "fixed"

[[probe]]
id = "m1"
network = "mobile-op"

[[probe]]
id = "m2"
network = "mobile-op"

[[probe]]
id = "f1"
network = "fixed-op"
"""


def world(expects: str):
    return scenario.parse(WORLD + expects, source="scoring.toml")


def block(scope: Scope, *, start: float = 60, end: float | None = None, emitted: float = 75):
    return Event(
        id=f"e{start}{scope}",
        kind=EventKind.SERVICE_BLOCK,
        state="open" if end is None else "closed",
        scope=scope,
        start=T0 + start,
        end=None if end is None else T0 + end,
        platform="tiktok",
        method="dns",
        first_emitted=T0 + emitted,
    )


BLOCK = """
[[expect]]
kind = "service_block"
platform = "tiktok"
method = "dns"
scope = { asn = 64511 }
start_s = 60
"""


def test_scopes_selecting_the_same_probes_are_the_same_scope():
    s = world(BLOCK)
    detected = block(Scope(asn=64511, access=Access.MOBILE))
    result = scorecard.score(s, [detected], T0)
    assert (result.matched, result.false_events, result.delays_s) == (1, [], [15.0])


def test_a_country_scope_is_too_wide_when_one_operator_was_cut():
    s = world(BLOCK)
    result = scorecard.score(s, [block(Scope(country="NC"))], T0)
    assert result.matched == 0
    assert len(result.false_events) == 1
    assert result.missed[0]["scope"] == {"asn": 64511}


def test_an_event_matches_at_most_one_expectation():
    s = world(BLOCK + BLOCK)
    result = scorecard.score(s, [block(Scope(asn=64511))], T0)
    assert (result.expected, result.matched, len(result.missed)) == (2, 1, 1)
    two = scorecard.score(s, [block(Scope(asn=64511)), block(Scope(asn=64511), start=65)], T0)
    assert (two.matched, two.false_events) == (2, [])


def test_without_end_the_event_must_still_be_open():
    s = world(BLOCK)
    closed = block(Scope(asn=64511), end=200)
    result = scorecard.score(s, [closed], T0)
    assert result.matched == 0
    assert len(result.false_events) == 1


def test_with_an_end_it_must_be_closed_near_it():
    s = world(BLOCK.replace("start_s = 60", "start_s = 60\nend_s = 200"))
    assert scorecard.score(s, [block(Scope(asn=64511))], T0).matched == 0
    assert scorecard.score(s, [block(Scope(asn=64511), end=224)], T0).matched == 1
    assert scorecard.score(s, [block(Scope(asn=64511), end=226)], T0).matched == 0


def test_start_tolerance_and_kind_platform_method_must_agree():
    s = world(BLOCK)
    assert scorecard.score(s, [block(Scope(asn=64511), start=84.9)], T0).matched == 1
    assert scorecard.score(s, [block(Scope(asn=64511), start=85.1)], T0).matched == 0
    wrong_method = Event(
        id="x",
        kind=EventKind.SERVICE_BLOCK,
        state="open",
        scope=Scope(asn=64511),
        start=T0 + 60,
        platform="tiktok",
        method="tls",
    )
    wrong_kind = Event(
        id="y",
        kind=EventKind.PLATFORM_OUTAGE,
        state="open",
        scope=Scope(asn=64511),
        start=T0 + 60,
        platform="tiktok",
    )
    result = scorecard.score(s, [wrong_method, wrong_kind], T0)
    assert (result.matched, len(result.false_events)) == (0, 2)


def test_an_empty_scope_selects_every_probe_but_the_control():
    s = world("""
[[expect]]
kind = "platform_outage"
platform = "tiktok"
start_s = 60
""")
    outage = Event(
        id="o",
        kind=EventKind.PLATFORM_OUTAGE,
        state="open",
        scope=Scope(),
        start=T0 + 62,
        platform="tiktok",
    )
    assert scorecard.score(s, [outage], T0).matched == 1
    country = msgspec.structs.replace(outage, scope=Scope(country="NC"))
    assert scorecard.score(s, [country], T0).matched == 1  # the same three probes


def test_the_summary_line_and_totals():
    s = world(BLOCK)
    card = scorecard.combine("sim", [scorecard.score(s, [block(Scope(asn=64511))], T0)])
    assert card.passed
    assert card.summary_line() == "1/1 expected events detected, 0 false events, max delay 15 s"
