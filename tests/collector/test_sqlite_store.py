"""The embedded SQLite store: a real database file, written and read back."""

import msgspec
import pytest

from balise import wire
from balise.model.events import Event, EventKind, Scope
from balise.model.layers import Layer
from collector.errors import UnavailableError
from collector.received import Received
from collector.stores.sqlite import SqliteStore
from tests.support.rounds import make_heartbeat, make_round, make_status

T = 1_750_000_000.0


def received(msg, at=T + 2):
    return Received(msg, wire.encode(msg), at)


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "state" / "collector.sqlite3")
    yield store
    await store.close()


async def test_rounds_round_trip_with_raw_json_and_per_target_rows(store):
    failing = {"tiktok": (Layer.TLS, "connection_reset")}
    first = make_round(probe="p1", seq=1, started=T, targets=["tiktok", "whatsapp"])
    second = make_round(
        probe="p1", seq=2, started=T + 60, targets=["tiktok", "whatsapp"], failures=failing
    )
    other = make_round(probe="p2", seq=1, started=T + 70, targets=["tiktok"])
    rows = await store.write([received(first), received(second), received(other, T + 72)])
    assert rows == 3 + 5
    latest = {(r.probe, r.target): r for r in await store.latest_results()}
    assert set(latest) == {("p1", "tiktok"), ("p1", "whatsapp"), ("p2", "tiktok")}
    assert latest["p1", "tiktok"].seq == 2
    assert not latest["p1", "tiktok"].ok
    assert latest["p1", "tiktok"].failed_layer == "tls"
    assert latest["p1", "tiktok"].failure == "connection_reset"
    assert latest["p1", "whatsapp"].ok
    raw = await store.rounds(since=T + 30)
    assert [wire.decode_round(r, "p1" if b'"p1"' in r else "p2").seq for r in raw] == [2, 1]
    assert raw[0] == wire.encode(second)


async def test_writing_a_round_again_does_not_duplicate_it(store):
    round_ = make_round(seq=1, started=T)
    await store.write([received(round_)])
    await store.write([received(round_, T + 500)])
    counts = await store.counts()
    assert counts["rounds"] == 1
    assert counts["results"] == len(round_.targets)


async def test_a_clock_suspect_round_is_stored_at_its_arrival(store):
    await store.write([received(make_round(seq=1, started=0.0), T)])
    assert {r.time for r in await store.latest_results()} == {T}


async def test_probe_state_keeps_the_newest_status_and_heartbeat(store):
    await store.write(
        [
            received(make_status("p1", "online", at=T + 10)),
            received(make_status("p1", "offline", at=T)),  # older, arrives later
            received(make_heartbeat("p1", last_seq=7, at=T + 20)),
            received(make_status("p2", "offline", at=None), T + 30),  # a Last Will
        ]
    )
    probes = {p.probe: p for p in await store.probes()}
    assert probes["p1"].state == "online"
    assert probes["p1"].state_at == T + 10
    assert probes["p1"].last_seq == 7
    assert probes["p1"].clock_synced is True
    assert probes["p2"].state == "offline"
    assert probes["p2"].state_at == T + 30
    assert probes["p2"].last_seq is None


async def test_events_are_replaced_by_their_newer_version(store):
    open_ = Event(
        id="e1",
        kind=EventKind.NETWORK_SHUTDOWN,
        state="open",
        scope=Scope(country="IR"),
        start=T,
        method="full",
        affected=4,
        total=5,
        confidence=0.8,
        updated=T,
    )
    other = Event(
        id="e2",
        kind=EventKind.PROBE_OFFLINE,
        state="open",
        scope=Scope(probe="p9"),
        start=T + 100,
        updated=T + 100,
    )
    closed = msgspec.structs.replace(open_, state="closed", end=T + 600, updated=T + 600)
    await store.write_events([open_, other])
    await store.write_events([closed])
    assert await store.events() == [other, closed]
    assert await store.events(state="closed") == [closed]
    assert (await store.counts())["events"] == 2


async def test_an_unusable_database_is_unavailable_not_a_crash(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SqliteStore(path)
    with pytest.raises(UnavailableError, match="not a database"):
        await store.write([received(make_round())])
    await store.close()
