"""Rounds, statuses and events as line protocol: the schema of docs/storage.md, escaping.

The real InfluxDB reads these lines back in test_influx_v1_store.py.
"""

import itertools
import math

from balise.model.events import Event, EventKind, Scope
from balise.model.layers import Layer
from collector.clocks import BootClocks
from collector.received import Received
from collector.stores import lineprotocol
from collector.stores.lineprotocol import event_line, fields, lines, round_lines, tags
from tests.support.rounds import make_heartbeat, make_round, make_status, target_result

T = 1_750_000_000.0


def parse(line: str) -> tuple[str, dict[str, str], str, int]:
    """Split one line of our output (no escaped spaces in field values used here)."""
    head, field_part, ts = line.rsplit(" ", 2)
    measurement, *pairs = head.split(",")
    return measurement, dict(p.split("=", 1) for p in pairs), field_part, int(ts)


def test_tag_values_escape_commas_equals_and_spaces_and_drop_empties():
    assert tags(a="x y", b="k=v,w", c="", d=None) == r",a=x\ y,b=k\=v\,w"


def test_tag_values_lose_newlines_and_a_trailing_backslash():
    assert tags(a="two\nlines\r", b="ends\\", c="\\") == r",a=two\ lines\ ,b=ends"


def test_field_values_are_typed():
    assert fields(i=3, f=1.5, whole=2.0, yes=True, no=False, s="x") == (
        'i=3i,f=1.5,whole=2.0,yes=true,no=false,s="x"'
    )


def test_string_fields_escape_quotes_and_backslashes():
    assert fields(s='say "hi" \\o/') == r's="say \"hi\" \\o/"'


def test_missing_and_non_finite_fields_are_left_out():
    assert fields(a=None, b=math.nan, c=math.inf, d=1) == "d=1i"


def test_a_round_makes_one_round_point_and_one_point_per_target_and_anchor():
    round_ = make_round(
        probe="p1",
        seq=42,
        started=T,
        targets=["tiktok", "whatsapp", target_result("youtube", kbps=800.0)],
        failures={"tiktok": (Layer.DNS, "dns_nxdomain_error")},
        region="Tehran Province",
    )
    out = [parse(line) for line in round_lines(round_, T + 5)]
    assert [m for m, *_ in out] == [
        "round",
        "target",
        "target",
        "target",
        "throughput",
        "anchor",
        "anchor",
    ]
    assert {ts for *_, ts in out} == {round(T * 1_000_000)}
    _, tagset, round_fields, _ = out[0]
    assert tagset == {
        "probe": "p1",
        "country": "IR",
        "region": r"Tehran\ Province",
        "asn": "197207",
        "access": "mobile",
        "network": "MCI",
    }
    assert "seq=42i" in round_fields
    assert "targets=3i" in round_fields
    assert "failed=1i" in round_fields
    assert "clock_suspect=false" in round_fields
    _, tiktok_tags, tiktok, _ = out[1]
    assert tiktok_tags["target"] == "tiktok"
    assert tiktok_tags["failed_layer"] == "dns"
    assert 'ok=false,failure="dns_nxdomain_error"' in tiktok
    assert "dns_ms=5000.0" in tiktok
    assert "tcp_ms" not in tiktok
    _, whatsapp_tags, whatsapp, _ = out[2]
    assert "failed_layer" not in whatsapp_tags
    assert "ok=true" in whatsapp
    assert "http_status=200i" in whatsapp
    assert "failure" not in whatsapp
    # Flags are written when true, the round's own fields on the round point only.
    assert "truncated" not in whatsapp
    assert "blockpage" not in whatsapp
    assert "dns_bogon" not in whatsapp
    assert all("seq=" not in fields for _, _, fields, _ in out[1:])
    assert "kbps=800.0" in out[4][2]
    assert out[5][1]["anchor"] == "gateway"
    assert out[5][1]["role"] == "gateway"


def test_a_future_clock_is_stored_at_arrival_and_flagged():
    round_ = make_round(started=T + 7200)
    lines = round_lines(round_, T)
    assert {parse(line)[3] for line in lines} == {round(T * 1_000_000)}
    assert "clock_suspect=true" in parse(lines[0])[2]


def test_a_redelivered_round_gives_the_same_points():
    round_ = make_round(started=T)
    assert round_lines(round_, T + 1) != []
    first = [line.rsplit(" ", 2)[0::2] for line in round_lines(round_, T + 1)]
    again = [line.rsplit(" ", 2)[0::2] for line in round_lines(round_, T + 900)]
    assert first == again  # same series and timestamp: InfluxDB overwrites


def test_one_encoder_writes_what_a_fresh_one_writes_as_probes_move_and_memos_fill():
    """The encoder keeps each probe's tags while its meta is unchanged: a probe that
    moves gets its new tags at once, and emptying a full memo changes nothing."""
    encoder = lineprotocol.LineEncoder(memo_size=2)
    rounds = [
        make_round(probe=probe, seq=seq, started=T + seq, targets=[target], country=country)
        for seq, (probe, country, target) in enumerate(
            [
                ("p1", "IR", "tiktok"),
                ("p1", "IR", "tiktok"),
                ("p1", "NC", "tiktok"),  # the same probe, moved
                ("p2", "NC", "whatsapp"),
                ("p3", "FR", "signal"),  # a third probe: the memo of two is emptied
                ("p1", "NC", "youtube"),
            ]
        )
    ]
    for round_ in rounds:
        assert encoder.round_lines(round_, T) == round_lines(round_, T)
    countries = [parse(encoder.round_lines(r, T)[1])[1]["country"] for r in rounds]
    assert countries == ["IR", "IR", "NC", "NC", "FR", "NC"]


def test_statuses_and_heartbeats_are_probe_status_points():
    batch = [
        Received(make_status("p1", "offline", at=None), b"", T),
        Received(make_heartbeat("p1", last_seq=9, at=T - 1), b"", T),
    ]
    status, heartbeat = (parse(line) for line in lines(batch).split("\n"))
    assert status[:2] == ("probe_status", {"probe": "p1"})
    assert 'online=false,state="offline"' in status[2]
    assert status[3] == round(T * 1_000_000)  # the Last Will has no time: its arrival
    assert "last_seq=9i" in heartbeat[2]
    assert heartbeat[3] == round((T - 1) * 1_000_000)


def test_an_event_is_one_point_at_its_start_keyed_by_id():
    event = Event(
        id="ev-1",
        kind=EventKind.SERVICE_BLOCK,
        state="closed",
        scope=Scope(country="IR", asn=197207),
        start=T,
        end=T + 3600,
        platform="tiktok",
        method="dns",
        affected=3,
        total=4,
        confidence=0.9,
    )
    head, rest = event_line(event).split(" ", 1)
    assert (
        head == "event,id=ev-1,kind=service_block,platform=tiktok,method=dns,country=IR,asn=197207"
    )
    assert rest.endswith(f" {round(T * 1_000_000)}")
    assert 'state="closed"' in rest
    assert 'title="Service blocked: tiktok (dns) in IR, AS197207"' in rest
    assert f"end={T + 3600!r}" in rest
    assert "affected=3i,total=4i" in rest


def test_precision_is_microseconds():
    assert (lineprotocol.PRECISION_V1, lineprotocol.PRECISION_V2) == ("u", "us")


def test_rounds_replayed_in_one_burst_keep_their_boot_clock_spacing():
    clocks = BootClocks()
    live = make_round(seq=6, started=0.0, synced=False)
    assert clocks.place(live, T) is not None  # the live round anchors the boot
    times = []
    for seq in range(1, 6):  # measured a minute apart, replayed within a millisecond
        late = make_round(seq=seq, started=0.0, synced=False, late=True)
        placed = clocks.place(late, T + 0.0001 * seq)
        times.append(parse(round_lines(late, T + 0.0001 * seq, placed)[0])[3])
    assert [b - a for a, b in itertools.pairwise(times)] == [60_000_000] * 4
    assert times[-1] == round((T - 60) * 1_000_000)
