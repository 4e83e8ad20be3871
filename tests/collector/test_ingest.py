"""Ingest.handle: strict validation, counting by reason, dedupe, flags, hand-off."""

import msgspec
import pytest

from balise import wire
from balise.model.messages import Heartbeat, Round, Status
from collector.counters import Counters
from collector.ingest import Ingest
from collector.stores.batching import BatchWriter
from collector.stores.sqlite import SqliteStore
from tests.support.rounds import make_heartbeat, make_round, make_status, message

NOW = 1_750_000_000.0


class Recorder:
    """An observer that keeps what it is shown; raises on rounds of probe "boom"."""

    def __init__(self) -> None:
        self.rounds: list[tuple[str, int]] = []
        self.statuses: list[Status] = []
        self.heartbeats: list[Heartbeat] = []
        self.arrivals: list[float] = []

    def observe_round(self, round_: Round, received_at: float) -> None:
        if round_.probe == "boom":
            raise RuntimeError("detector bug")
        self.arrivals.append(received_at)
        self.rounds.append((round_.probe, round_.seq))

    def observe_status(self, status: Status, received_at: float) -> None:
        self.arrivals.append(received_at)
        self.statuses.append(status)

    def observe_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None:
        self.arrivals.append(received_at)
        self.heartbeats.append(heartbeat)


@pytest.fixture
def parts(tmp_path):
    counters = Counters()
    writer = BatchWriter(SqliteStore(tmp_path / "db.sqlite3"), counters, capacity=5)
    recorder = Recorder()
    return Ingest(writer=writer, observers=[recorder], counters=counters), writer, recorder


def test_a_valid_round_goes_to_the_writer_and_the_observers(parts):
    ingest, writer, recorder = parts
    ingest.handle(*message(make_round(probe="p1", seq=3, started=NOW)), NOW)
    assert recorder.rounds == [("p1", 3)]
    assert recorder.arrivals == [NOW]
    assert writer.pending == 1
    assert ingest._counters.received == 1
    assert ingest._counters.rejected == {}


def test_a_redelivered_round_is_counted_and_dropped(parts):
    ingest, writer, recorder = parts
    topic, payload = message(make_round(seq=3, started=NOW))
    ingest.handle(topic, payload, NOW)
    ingest.handle(topic, payload, NOW + 1)
    assert recorder.rounds == [("probe-1", 3)]
    assert writer.pending == 1
    assert ingest._counters.duplicates == 1


def bad_messages() -> list[tuple[str, str, bytes]]:
    topic, good = message(make_round(probe="p1", started=NOW))
    raw = msgspec.json.decode(good)
    return [
        ("malformed", topic, b"{not json"),
        ("malformed", topic, msgspec.json.encode({**raw, "seq": "seven"})),
        ("malformed", topic, msgspec.json.encode({k: v for k, v in raw.items() if k != "meta"})),
        ("oversized", topic, b" " * (wire.MAX_PAYLOAD + 1)),
        ("bad_topic", "balise/v1/probe/p1/telemetry", good),
        ("bad_topic", "elsewhere/p1/round", good),
        ("bad_topic", "balise/v1/probe/P 1/round", good),
        ("bad_topic", wire.topic("p1", "ack"), good),
        ("topic_mismatch", wire.topic("p2", "round"), good),
        ("unknown_version", topic, msgspec.json.encode({**raw, "v": 2, "new": {"x": 1}})),
    ]


@pytest.mark.parametrize(("reason", "topic", "payload"), bad_messages())
def test_a_bad_message_is_counted_by_reason_and_a_good_one_still_goes_through(
    parts, reason, topic, payload
):
    ingest, writer, recorder = parts
    ingest.handle(topic, payload, NOW)
    assert ingest._counters.rejected == {reason: 1}
    assert writer.pending == 0
    ingest.handle(*message(make_round(probe="p1", started=NOW)), NOW)
    assert recorder.rounds == [("p1", 1)]
    assert ingest._counters.received == 2


def test_rejections_are_logged_without_the_payload(parts, caplog):
    ingest, _, _ = parts
    topic, good = message(make_round(probe="p1", started=NOW))
    secret = good.replace(b'"MCI"', b'"s3cret-token"').replace(b'"seq":1', b'"seq":"x"')
    for _ in range(50):
        ingest.handle(topic, secret, NOW)
    assert ingest._counters.rejected == {"malformed": 50}
    assert "s3cret" not in caplog.text
    assert caplog.text.count("rejected (malformed)") == 1  # rate-limited


def test_a_round_with_an_impossible_clock_is_kept_and_counted(parts):
    ingest, writer, recorder = parts
    ingest.handle(*message(make_round(seq=1, started=0.0)), NOW)
    ingest.handle(*message(make_round(seq=2, started=NOW + 86400)), NOW)
    assert writer.pending == 2
    assert len(recorder.rounds) == 2
    assert ingest._counters.clock_suspect == 2


def test_an_observer_that_raises_does_not_stop_ingest(parts):
    ingest, writer, recorder = parts
    ingest.handle(*message(make_round(probe="boom", started=NOW)), NOW)
    ingest.handle(*message(make_round(probe="p1", started=NOW)), NOW)
    assert ingest._counters.observer_errors == 1
    assert writer.pending == 2
    assert recorder.rounds == [("p1", 1)]


def test_a_full_buffer_refuses_the_round_and_takes_its_redelivery_later(parts):
    ingest, writer, recorder = parts
    for seq in range(1, 7):
        ingest.handle(*message(make_round(seq=seq, started=NOW)), NOW)
    assert writer.pending == 5
    assert ingest._counters.rejected == {"buffer_full": 1}
    assert recorder.rounds == [("probe-1", s) for s in range(1, 6)]
    writer._buffer.clear()  # as if flushed
    ingest.handle(*message(make_round(seq=6, started=NOW)), NOW)
    assert recorder.rounds[-1] == ("probe-1", 6)
    assert ingest._counters.duplicates == 0


def test_statuses_and_heartbeats_reach_observers_and_the_writer(parts):
    ingest, writer, recorder = parts
    ingest.handle(*message(make_status("p1", "offline")), NOW)
    ingest.handle(*message(make_heartbeat("p1", last_seq=4, at=NOW)), NOW)
    assert [s.state for s in recorder.statuses] == ["offline"]
    assert [h.last_seq for h in recorder.heartbeats] == [4]
    assert writer.pending == 2
