"""Signed rounds through the real ingest and SQLite store: forged, tampered, replayed, revoked."""

import os
import time

import pytest

from balise import wire
from collector import fleet
from collector.counters import Counters
from collector.fleet import Keyring
from collector.ingest import Ingest
from collector.stores.batching import BatchWriter
from collector.stores.sqlite import SqliteStore
from probe.identity import load_or_create
from tests.support.rounds import make_round


@pytest.fixture
def world(tmp_path):
    """Two probes with keys; probe-a enrolled, probe-b not."""
    a = load_or_create(tmp_path / "a", "probe-a")
    b = load_or_create(tmp_path / "b", "probe-b")
    registry_path = tmp_path / "fleet.json"
    code_key = a.enrollment_code.rsplit(":", 1)[1]
    fleet.save(registry_path, fleet.add(fleet.Registry(), "probe-a", code_key))
    return a, b, registry_path, tmp_path


async def ingest_all(tmp_path, keyring, messages):
    counters = Counters()
    store = SqliteStore(tmp_path / "store.sqlite3")
    async with BatchWriter(store, counters) as writer:
        ingest = Ingest(writer=writer, observers=[], counters=counters, keyring=keyring)
        for topic, payload in messages:
            ingest.handle(topic, payload, time.time())
        await writer.flush()
    stored = await store.counts()
    await store.close()
    return counters, stored


def signed(identity, seq, probe=None):
    round_ = make_round(probe=probe or identity.probe_id, seq=seq)
    return wire.topic(round_.probe, "round"), identity.sign(wire.encode(round_))


async def test_signed_rounds_of_an_enrolled_probe_are_stored(world):
    a, _, registry, tmp = world
    counters, stored = await ingest_all(tmp, Keyring(registry), [signed(a, 1), signed(a, 2)])
    assert counters.rejected == {}
    assert stored["rounds"] == 2


async def test_a_modified_byte_is_rejected(world):
    a, _, registry, tmp = world
    topic, payload = signed(a, 1)
    i = payload.index(b'"seq":1') + len(b'"seq":')
    tampered = payload[:i] + b"7" + payload[i + 1 :]
    counters, stored = await ingest_all(tmp, Keyring(registry), [(topic, tampered)])
    assert counters.rejected == {"bad_signature": 1}
    assert stored["rounds"] == 0


async def test_unknown_and_unsigned_probes_are_rejected(world):
    _a, b, registry, tmp = world
    unsigned = make_round(probe="probe-a", seq=3)
    messages = [signed(b, 1), (wire.topic("probe-a", "round"), wire.encode(unsigned))]
    counters, stored = await ingest_all(tmp, Keyring(registry), messages)
    assert counters.rejected == {"unknown_probe": 1, "bad_signature": 1}
    assert stored["rounds"] == 0


async def test_a_key_cannot_sign_for_another_probe(world):
    """probe-b's key signing a round that claims to be probe-a's."""
    _a, b, registry, tmp = world
    counters, _ = await ingest_all(tmp, Keyring(registry), [signed(b, 1, probe="probe-a")])
    assert counters.rejected == {"bad_signature": 1}


async def test_a_replayed_round_is_not_stored_twice(world):
    a, _, registry, tmp = world
    message = signed(a, 5)
    counters, stored = await ingest_all(tmp, Keyring(registry), [message, message, message])
    assert stored["rounds"] == 1
    assert counters.duplicates == 2


async def test_a_seq_far_beyond_the_window_is_rejected(world):
    a, _, registry, tmp = world
    messages = [signed(a, 1), signed(a, 10_000_000)]
    counters, stored = await ingest_all(tmp, Keyring(registry), messages)
    assert counters.rejected == {"seq_out_of_window": 1}
    assert stored["rounds"] == 1


async def test_a_revoked_probe_is_rejected_after_reload(world):
    a, _, registry, tmp = world
    keyring = Keyring(registry)
    fleet.save(registry, fleet.revoke(fleet.load(registry), "probe-a"))
    os.utime(registry, (time.time() + 5, time.time() + 5))  # a distinct mtime, however fast
    assert keyring.reload()
    counters, stored = await ingest_all(tmp, keyring, [signed(a, 1)])
    assert counters.rejected == {"revoked_probe": 1}
    assert stored["rounds"] == 0
