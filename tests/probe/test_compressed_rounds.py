"""Rounds in the compressed wire form: published by the uplink, verified and stored by ingest.

The probe signs the round's JSON and compresses the signed JSON; the collector takes
both forms, decompresses within the payload bound, and verifies the JSON.
"""

import asyncio
import contextlib
import sqlite3
import time
import zlib

import aiomqtt
import msgspec
import pytest

from balise import signing, wire
from balise.mqtt import MqttSettings
from collector import fleet
from collector.counters import Counters
from collector.fleet import Keyring
from collector.ingest import Ingest
from collector.stores.batching import BatchWriter
from collector.stores.sqlite import SqliteStore
from probe.identity import load_or_create
from probe.spool import Spool
from probe.uplink import Uplink
from tests.support.rounds import make_round


@pytest.fixture
def probe_key(tmp_path):
    me = load_or_create(tmp_path / "probe", "zip-1")
    registry = tmp_path / "fleet.json"
    fleet.save(registry, fleet.add(fleet.Registry(), "zip-1", me.enrollment_code.split(":")[-1]))
    return me, Keyring(registry)


async def _ingest(tmp_path, keyring, payloads):
    counters = Counters()
    store = SqliteStore(tmp_path / "store.sqlite3")
    async with BatchWriter(store, counters) as writer:
        ingest = Ingest(writer=writer, observers=[], counters=counters, keyring=keyring)
        for payload in payloads:
            ingest.handle(wire.topic("zip-1", "round"), payload, time.time())
        await writer.flush()
    stored = await store.counts()
    await store.close()
    return counters, stored["rounds"]


async def test_compressed_and_plain_signed_rounds_are_both_verified_and_stored(tmp_path, probe_key):
    me, keyring = probe_key
    compressed = wire.compress(me.sign(wire.encode(make_round(probe="zip-1", seq=1))))
    plain = me.sign(wire.encode(make_round(probe="zip-1", seq=2)))
    counters, stored = await _ingest(tmp_path, keyring, [compressed, plain])
    assert (counters.rejected, stored) == ({}, 2)
    assert compressed.startswith(wire.ZLIB)
    assert len(compressed) * 3 < len(wire.decompress(compressed))


async def test_a_round_changed_under_compression_is_rejected(tmp_path, probe_key):
    me, keyring = probe_key
    signed = me.sign(wire.encode(make_round(probe="zip-1", seq=1)))
    forged = wire.compress(signed.replace(b'"seq":1', b'"seq":9'))
    broken = wire.compress(signed)[:-6]
    counters, stored = await _ingest(tmp_path, keyring, [forged, broken])
    assert (counters.rejected, stored) == ({"bad_signature": 1, "malformed": 1}, 0)


async def test_the_raw_archive_keeps_the_round_as_json(tmp_path, probe_key):
    me, keyring = probe_key
    signed = me.sign(wire.encode(make_round(probe="zip-1", seq=1)))
    await _ingest(tmp_path, keyring, [wire.compress(signed)])
    with contextlib.closing(sqlite3.connect(tmp_path / "store.sqlite3")) as db:
        [(raw,)] = db.execute("SELECT raw FROM rounds").fetchall()
    assert bytes(raw) == signed  # what `balise export` and json_extract read


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (wire.ZLIB + zlib.compress(b" " * (wire.MAX_PAYLOAD + 1)), "oversized"),
        (wire.ZLIB + zlib.compress(b'{"v":1}')[:-3], "malformed"),
        (wire.ZLIB + zlib.compress(b'{"v":1}') + b"more", "malformed"),
        (wire.ZLIB + b"not zlib", "malformed"),
    ],
    ids=["bomb", "truncated", "trailing-data", "garbage"],
)
def test_a_bad_compressed_payload_is_a_wire_error(payload, reason):
    with pytest.raises(wire.WireError) as caught:
        wire.decode_round(payload, "zip-1")
    assert caught.value.reason == reason


def test_json_payloads_pass_through_unchanged():
    payload = wire.encode(make_round(probe="zip-1", seq=1))
    assert wire.decompress(payload) is payload


@pytest.mark.parametrize("compress", [True, False])
async def test_the_uplink_publishes_the_signed_round_in_the_form_it_is_told(
    mosquitto, tmp_path, probe_key, compress
):
    me, _ = probe_key
    spool = Spool(tmp_path / "spool.sqlite")
    round_ = make_round(probe="zip-1", seq=1)
    link = Uplink(
        "zip-1",
        MqttSettings(url=mosquitto.url),
        spool,
        version="test",
        on_catalog=lambda _: None,
        clock_synced=lambda: True,
        sign=me.sign,
        compress=compress,
    )
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(wire.topic("zip-1", "round"), qos=1)
        async with link:
            spool.append(round_)
            link.round_spooled()
            async with asyncio.timeout(10):
                message = await anext(aiter(watcher.messages))
    payload = message.payload
    assert isinstance(payload, bytes)
    assert payload.startswith(wire.ZLIB) is compress
    signing.verify(payload, me.key.verify_key)
    sent = wire.decode_round(payload, "zip-1")
    assert (
        msgspec.structs.replace(sent, sig=None, late=False) == round_
    )  # late: spooled while connecting
