"""InfluxDB 1.x store against the real InfluxDB 1.6 of the `influxdb` fixture."""

import asyncio

import aiohttp
import pytest

from balise.model.events import Event, EventKind, Evidence, Scope
from balise.model.layers import Layer
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.settings import InfluxV1StoreSettings
from collector.stores.batching import BatchWriter
from collector.stores.influx_v1 import InfluxV1Store
from tests.support.rounds import make_heartbeat, make_round, make_status, target_result
from tests.support.services import InfluxDB, free_port

T = 1_750_000_000.0


def rows(influxdb, db: str, q: str) -> list[dict[str, object]]:
    """Every row of every series, as dicts, tags included."""
    return [
        {**series.get("tags", {}), **dict(zip(series["columns"], values, strict=True))}
        for series in influxdb.query(db, q)
        for values in series["values"]
    ]


@pytest.fixture
async def store(influxdb, request):
    db = request.node.name.replace("[", "_").replace("]", "")[:60]
    store = InfluxV1Store(InfluxV1StoreSettings(url=influxdb.url, database=db))
    yield store, db
    await store.close()


async def test_rounds_statuses_and_events_land_in_their_measurements(influxdb, store):
    store, db = store
    round_ = make_round(
        probe="p1",
        seq=5,
        started=T,
        targets=["tiktok", target_result("youtube", kbps=1500.0)],
        failures={"tiktok": (Layer.TCP, "connection_refused")},
    )
    batch = [
        Received(round_, b"", T + 3),
        Received(make_status("p1", "online", at=T - 10), b"", T),
        Received(make_heartbeat("p1", last_seq=5, at=T + 1), b"", T + 1),
    ]
    assert await store.write(batch) == 1 + 2 + 1 + 2 + 2
    targets = rows(influxdb, db, "SELECT * FROM target GROUP BY *")
    by_target = {r["target"]: r for r in targets}
    assert by_target["tiktok"]["ok"] is False
    assert by_target["tiktok"]["failed_layer"] == "tcp"
    assert by_target["tiktok"]["failure"] == "connection_refused"
    assert by_target["youtube"]["ok"] is True
    assert by_target["youtube"]["http_status"] == 200
    assert by_target["youtube"]["time"] == T
    assert by_target["youtube"]["country"] == "IR"
    assert by_target["youtube"]["asn"] == "197207"
    (tp,) = rows(influxdb, db, "SELECT kbps, target FROM throughput")
    assert tp["kbps"] == 1500.0
    (rnd,) = rows(influxdb, db, "SELECT seq, failed, targets, clock_suspect FROM round")
    assert (rnd["seq"], rnd["failed"], rnd["targets"], rnd["clock_suspect"]) == (5, 1, 2, False)
    status = rows(influxdb, db, "SELECT * FROM probe_status")
    assert [(r["state"], r["last_seq"]) for r in status] == [("online", None), (None, 5)]

    event = Event(
        id="e1",
        kind=EventKind.SERVICE_BLOCK,
        state="open",
        scope=Scope(country="IR"),
        start=T,
        platform="tiktok",
        method="tcp_ip",
        affected=1,
        total=1,
        confidence=0.7,
    )
    await store.write_events([event])
    await store.write_events([Event(**{**_fields(event), "state": "closed", "end": T + 60})])
    (ev,) = rows(influxdb, db, "SELECT * FROM event")  # the newer version overwrote it
    assert (ev["id"], ev["state"], ev["end"], ev["platform"]) == ("e1", "closed", T + 60, "tiktok")


def _fields(event):
    return {f: getattr(event, f) for f in event.__struct_fields__}


NASTY = 'a b,c=d "q" back\\slash'


async def test_awkward_strings_survive_the_round_trip(influxdb, store):
    store, db = store
    round_ = make_round(probe="p1", region=NASTY, network="ends with\\", started=T)
    await store.write([Received(round_, b"", T)])
    (series,) = influxdb.query(db, "SELECT count(seq) FROM round GROUP BY region, network")
    assert series["tags"] == {"region": NASTY, "network": "ends with"}
    event = Event(
        id="e2",
        kind=EventKind.THROTTLING,
        state="open",
        scope=Scope(region=NASTY),
        start=T,
        platform="x",
        evidence=Evidence(note=NASTY + "\nline 2\\"),
    )
    await store.write_events([event])
    (ev,) = rows(influxdb, db, "SELECT * FROM event")
    assert ev["region"] == NASTY
    assert NASTY in ev["title"]
    assert ev["text"].endswith(NASTY + " line 2\\")


async def test_a_redelivered_round_overwrites_its_points(influxdb, store):
    store, db = store
    round_ = make_round(seq=1, started=T)
    await store.write([Received(round_, b"", T + 1)])
    await store.write([Received(round_, b"", T + 300)])
    (series,) = influxdb.query(db, "SELECT count(ok) FROM target")
    assert series["values"][0][1] == len(round_.targets)


async def test_a_type_conflict_is_rejected_not_retried(influxdb, store):
    store, db = store
    influxdb.query("", f'CREATE DATABASE "{db}"')
    # As if an older schema had written `seq` as a float.
    body = f"round,probe=x seq=1.5 {int(T * 1000)}".encode()
    url = f"{influxdb.url}/write?db={db}&precision=ms"
    async with aiohttp.ClientSession() as session, session.post(url, data=body) as response:
        assert response.status == 204
    with pytest.raises(RejectedError, match=r"HTTP 400.*field type conflict"):
        await store.write([Received(make_round(seq=1, started=T), b"", T)])


async def test_a_closed_port_is_unavailable():
    store = InfluxV1Store(InfluxV1StoreSettings(url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(UnavailableError):
        await store.write([Received(make_round(), b"", T)])
    await store.close()


async def test_rounds_wait_while_influxdb_is_down_and_are_stored_when_it_starts(tmp_path):
    server = InfluxDB(port=free_port(), workdir=tmp_path)
    store = InfluxV1Store(InfluxV1StoreSettings(url=server.url, database="later", timeout_s=2))
    counters = Counters()
    writer = BatchWriter(store, counters, batch_size=10, interval_s=0.05, backoff_cap_s=0.5)
    async with writer:
        for seq in range(1, 4):
            assert writer.offer(Received(make_round(seq=seq, started=T + seq), b"", T + 10))
        while counters.store_failures < 2:
            await asyncio.sleep(0.05)
        assert counters.stored_rounds == 0
        assert not counters.store_ok
        await asyncio.to_thread(server.start)
        try:
            async with asyncio.timeout(15):
                while counters.stored_rounds < 3:
                    await asyncio.sleep(0.05)
            (series,) = server.query("later", "SELECT count(seq) FROM round")
            assert series["values"][0][1] == 3
        finally:
            server.stop()
    await store.close()
    assert counters.store_dropped == 0
