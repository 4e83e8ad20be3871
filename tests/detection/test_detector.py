"""The detector on hand-built rounds: each kind, scope narrowing, late data, durability."""

from collections.abc import Callable

import pytest

from balise.config import ConfigError, decode_toml
from balise.model.events import Event, EventKind, Scope
from balise.model.layers import Access, Layer
from balise.model.messages import Heartbeat
from collector.detection import DetectionSettings, Detector
from tests.detection.rounds import T0, Probe

R = 10.0
SETTINGS = DetectionSettings(round_s=R)


def run(
    detector: Detector,
    probes: list[Probe],
    until: float,
    *,
    start: float = 0.0,
    shape: Callable[[Probe, float], dict] | None = None,
    offline: Callable[[Probe, float], bool] | None = None,
    heartbeats: bool = False,
) -> list[Event]:
    """Every probe rounds every R seconds (phase by position), with `heartbeats` a
    heartbeat in each other second; evaluate every second."""
    emitted: list[Event] = []
    for t in range(int(start), int(until)):
        for n, p in enumerate(probes):
            if offline and offline(p, t):
                continue
            if (t - n * int(R) // len(probes)) % int(R) == 0:
                kwargs = shape(p, t) if shape else {}
                detector.observe_round(p.round(t, **kwargs), T0 + t + 1.5)
            elif heartbeats:  # arriving as a round would
                beat = Heartbeat(probe=p.id, at=T0 + t + 1.5, last_seq=p.seq)
                detector.observe_heartbeat(beat, T0 + t + 1.5)
        emitted += detector.evaluate(T0 + t + 0.5)
    return emitted


def by_kind(events: list[Event], kind: EventKind) -> list[Event]:
    return [e for e in events if e.kind == kind]


def test_a_block_on_one_operator_is_scoped_to_it():
    d = Detector(SETTINGS)
    mobile = [Probe(f"m{i}", asn=64501) for i in range(3)]
    fixed = [Probe(f"f{i}", asn=64502, access=Access.FIXED) for i in range(3)]

    def shape(p: Probe, at: float) -> dict:
        return {"fail": {"tiktok": Layer.TLS}} if p.asn == 64501 and at >= 60 else {}

    emitted = run(d, mobile + fixed, 200, shape=shape)
    (event,) = d.events()
    assert event.kind == EventKind.SERVICE_BLOCK
    assert (event.platform, event.method, event.state) == ("tiktok", "tls", "open")
    assert event.scope in (
        Scope(country="NC", asn=64501),
        Scope(country="NC", access=Access.MOBILE),
    )
    assert abs(event.start - (T0 + 60)) <= R
    assert event.first_emitted - (T0 + 60) <= 2 * R + 5
    assert event.affected == 3
    assert set(event.evidence.probes) == {"m0", "m1", "m2"}
    assert emitted[0].id == event.id  # returned by evaluate when it opened


def test_a_block_closes_when_it_ends_and_a_second_one_is_a_new_event():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(3)]

    def shape(_p: Probe, at: float) -> dict:
        blocked = 50 <= at < 120 or 200 <= at < 270
        return {"fail": {"whatsapp": Layer.DNS}} if blocked else {}

    run(d, probes, 330, shape=shape)
    first, second = sorted(d.events(), key=lambda e: e.start)
    assert first.id != second.id
    for event, (start, end) in zip((first, second), ((50, 120), (200, 270)), strict=True):
        assert event.state == "closed"
        assert abs(event.start - (T0 + start)) <= R
        assert event.end is not None
        assert abs(event.end - (T0 + end)) <= R


def test_a_failure_the_control_sees_too_is_an_outage():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(3)] + [Probe("ctl", country="ZZ", control=True)]

    def shape(_p: Probe, at: float) -> dict:
        return {"fail": {"youtube": Layer.TCP}} if at >= 60 else {}

    run(d, probes, 150, shape=shape)
    (event,) = d.events()
    assert event.kind == EventKind.PLATFORM_OUTAGE
    assert event.scope == Scope()
    assert event.platform == "youtube"


def test_throughput_far_under_the_own_baseline_is_throttling():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}", asn=64501) for i in range(2)]

    def shape(_p: Probe, at: float) -> dict:
        rate = 128.0 if at >= 80 else 9000.0
        return {"kbps": {"tiktok": rate, "facebook": 9000.0, "whatsapp": 9000.0}}

    run(d, probes, 160, shape=shape)
    (event,) = d.events()
    assert (event.kind, event.platform) == (EventKind.THROTTLING, "tiktok")


def test_a_round_straddling_the_end_of_an_all_traffic_throttle_blames_no_platform():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}", asn=64501) for i in range(3)]
    fast = dict.fromkeys(("tiktok", "facebook", "whatsapp", "youtube"), 9000.0)

    def shape(_p: Probe, at: float) -> dict:
        if 80 <= at < 200:
            return {"kbps": dict.fromkeys(fast, 300.0)}
        if 200 <= at < 210:  # the throttle ends while the round downloads
            return {"kbps": {**fast, "tiktok": 300.0, "facebook": 300.0}}
        return {"kbps": fast}

    run(d, probes, 300, shape=shape)
    (event,) = d.events()
    assert (event.kind, event.platform, event.state) == (EventKind.THROTTLING, None, "closed")


def test_synchronized_silence_is_a_shutdown_refined_by_late_rounds():
    d = Detector(SETTINGS)
    cut_net = [Probe(f"c{i}", asn=64501) for i in range(2)]
    ok_net = [Probe(f"o{i}", asn=64502, access=Access.FIXED) for i in range(2)]
    probes = cut_net + ok_net

    def cut(p: Probe, at: float) -> bool:
        return p.asn == 64501 and 60 <= at < 150

    run(d, probes, 150, offline=cut)
    (live,) = d.events()
    assert (live.kind, live.method, live.state) == (EventKind.NETWORK_SHUTDOWN, "full", "open")
    assert live.scope in (Scope(country="NC", asn=64501), Scope(country="NC", access=Access.MOBILE))
    # The probes come back and replay what they measured: domestic fine, abroad cut.
    for p in cut_net:
        for k in range(6, 15):
            d.observe_round(p.round(k * R, cut="international", late=True), T0 + 152)
    run(d, probes, 200, start=150)
    (event,) = d.events()
    assert event.id == live.id
    assert (event.method, event.state) == ("international", "closed")
    assert abs(event.start - (T0 + 60)) <= R
    assert event.end is not None
    assert abs(event.end - (T0 + 150)) <= R


def test_one_probe_silent_among_reporting_peers_is_offline_not_a_shutdown():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(3)]
    run(d, probes, 60)
    d.observe_status(probes[0].will(), T0 + 60.5)
    run(d, probes, 150, start=60, offline=lambda p, _at: p.id == "p0")
    (event,) = d.events()
    assert event.kind == EventKind.PROBE_OFFLINE
    assert event.scope == Scope(probe="p0")
    assert event.first_emitted - (T0 + 60) <= 2 * R


def test_a_wrong_wall_clock_is_ignored_and_opens_nothing():
    d = Detector(SETTINGS)
    probes = [Probe("a", skew=3 * 3600), Probe("b", skew=-7.5e8), Probe("c")]
    assert run(d, probes, 200) == []
    assert d.events() == []


def test_impossible_clocks_alone_never_open_an_event():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}", skew=-7.5e8) for i in range(3)]

    def shape(_p: Probe, at: float) -> dict:
        return {"fail": {"tiktok": Layer.DNS}} if at >= 50 else {}

    run(d, probes, 150, shape=shape)
    assert d.events() == []


def test_snapshot_and_restore_keep_events_and_raise_no_false_silence():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(3)]

    def shape(_p: Probe, at: float) -> dict:
        return {"fail": {"tiktok": Layer.DNS}} if at >= 50 else {}

    run(d, probes, 120, shape=shape)
    before = d.events()
    restored = Detector.restore(d.snapshot(), SETTINGS)
    assert restored.events() == before
    # The collector was away for ten minutes; the probes report again as it restarts.
    after = run(restored, probes, 760, start=720, shape=shape)
    assert by_kind(after, EventKind.NETWORK_SHUTDOWN) == []
    assert by_kind(after, EventKind.PROBE_OFFLINE) == []
    assert [e.id for e in restored.events()] == [e.id for e in before]


def test_settings_are_checked_at_start_up():
    with pytest.raises(ConfigError, match="keep_fraction"):
        decode_toml("keep_fraction = 1.5", DetectionSettings, source="detection.toml")
    with pytest.raises(ConfigError, match="unknown field `bogus`"):
        decode_toml("bogus = 1", DetectionSettings, source="detection.toml")
    assert decode_toml("round_s = 30", DetectionSettings, source="x").round_s == 30


def _behind(
    detector: Detector,
    probes: list[Probe],
    until: int,
    delay: Callable[[float], float],
    offline: Callable[[Probe, float], bool] | None = None,
) -> list[Event]:
    """Rounds every R seconds, delivered `delay(t)` after they were measured; evaluated each
    second of the collector's wall clock until the last round has arrived."""
    due: list[tuple[float, int, Probe, float]] = []
    for t in range(until):
        for n, p in enumerate(probes):
            if (t - n * int(R) // len(probes)) % int(R) == 0 and not (offline and offline(p, t)):
                due.append((t + 1.5 + delay(t), n, p, t))
    due.sort(key=lambda item: item[:2])
    emitted: list[Event] = []
    for wall in range(int(due[-1][0]) + 2):  # until the last round arrives
        while due and due[0][0] <= wall:
            rx, _, p, t = due.pop(0)
            detector.observe_round(p.round(t), T0 + rx)
        emitted += detector.evaluate(T0 + wall + 0.5)
    return emitted


def test_a_collector_falling_behind_its_probes_sees_no_silence():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(6)]
    # From t=100 ingest takes 1.8 s for every second of rounds: arrivals of a probe are
    # 18 s apart, past its 15 s deadline, and the backlog grows to two minutes.
    emitted = _behind(d, probes, 250, lambda t: 0.8 * max(0.0, t - 100))
    assert by_kind(emitted, EventKind.PROBE_OFFLINE) == []
    assert by_kind(emitted, EventKind.NETWORK_SHUTDOWN) == []


def test_behind_or_not_a_probe_that_stops_is_noticed():
    d = Detector(SETTINGS)
    probes = [Probe(f"p{i}") for i in range(6)]
    emitted = _behind(
        d,
        probes,
        300,
        lambda t: 0.8 * max(0.0, t - 100),
        offline=lambda p, t: p.id == "p0" and t >= 150,
    )
    (event,) = by_kind(emitted, EventKind.PROBE_OFFLINE)
    assert event.scope == Scope(probe="p0")


# As in production, scaled 30 times down: rounds every 10 s, heartbeats every second, a
# probe late 1.5 rounds after it was last heard, a fleet unheard for 2 s (60 s) is blind.
QUIET = DetectionSettings(round_s=R, fleet_quiet_s=2.0)


def _two_countries() -> list[Probe]:
    return [Probe(f"nc{i}", country="NC") for i in range(3)] + [
        Probe(f"sn{i}", country="SN", asn=37649) for i in range(3)
    ]


def test_every_country_unheard_at_once_is_the_collectors_outage():
    """The collector's host lost its uplink (its broker beside it kept the session): nobody
    anywhere is heard for ten rounds. Not a shutdown of every country."""
    d = Detector(QUIET)
    emitted = run(d, _two_countries(), 300, offline=lambda _p, t: 100 <= t < 200, heartbeats=True)
    assert by_kind(emitted, EventKind.NETWORK_SHUTDOWN) == []
    assert by_kind(emitted, EventKind.PROBE_OFFLINE) == []


def test_one_country_unheard_while_another_is_heard_is_a_shutdown():
    d = Detector(QUIET)
    probes = _two_countries()
    emitted = run(
        d, probes, 300, offline=lambda p, t: p.country == "SN" and t >= 100, heartbeats=True
    )
    (event,) = by_kind(emitted, EventKind.NETWORK_SHUTDOWN)
    assert event.scope.country == "SN"
    assert event.first_emitted - (T0 + 100) <= 3 * R


def test_a_fleet_of_one_country_falling_silent_is_still_its_shutdown():
    """With no other place to hear from, its silence cannot be told from the collector's."""
    d = Detector(QUIET)
    probes = [Probe(f"nc{i}", country="NC") for i in range(3)]
    emitted = run(d, probes, 300, offline=lambda _p, t: t >= 100, heartbeats=True)
    (event,) = by_kind(emitted, EventKind.NETWORK_SHUTDOWN)
    assert event.scope.country == "NC"


def test_a_silent_country_beside_an_unheard_control_waits_for_the_control():
    """A control probe (outside any censor's reach) makes a second place: when it is silent
    too, nothing is concluded until something is heard again."""
    d = Detector(QUIET)
    probes = [Probe(f"nc{i}", country="NC") for i in range(3)] + [Probe("ctl", control=True)]
    emitted = run(d, probes, 300, offline=lambda _p, t: 100 <= t < 200, heartbeats=True)
    assert by_kind(emitted, EventKind.NETWORK_SHUTDOWN) == []
    # Then only the country falls silent, and the control is heard: its shutdown.
    run(d, probes, 500, start=300, offline=lambda p, t: not p.control and t >= 350, heartbeats=True)
    (event,) = d.events()
    assert (event.kind, event.scope.country, event.state) == (
        EventKind.NETWORK_SHUTDOWN,
        "NC",
        "open",
    )
