import msgspec
import pytest

from balise import wire
from balise.model.messages import Ack, ClockInfo, ProbeMeta, Round, Status
from balise.model.results import TargetResult


def make_round(probe="p1", seq=1):
    return Round(
        probe=probe,
        seq=seq,
        started=1716200000.0,
        clock=ClockInfo(mono=10.0, boot_id="b", synced=True),
        meta=ProbeMeta(country="NC", asn=64500),
        targets=(TargetResult(target="tiktok", failed_layer="tls", failure="connection_reset"),),
    )


def test_round_trip_keeps_every_field():
    message = make_round()
    decoded = wire.decode_round(wire.encode(message), "p1")
    assert decoded == message
    assert b'"v":1' in wire.encode(message)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "malformed"),
        (b'{"v": 1, "probe": "p1"}', "malformed"),
        (b'{"v": 2, "probe": "p1", "anything": [1]}', "unknown_version"),
        (b"x" * (wire.MAX_PAYLOAD + 1), "oversized"),
    ],
)
def test_bad_payloads_name_their_reason(payload, reason):
    with pytest.raises(wire.WireError) as caught:
        wire.decode_round(payload, "p1")
    assert caught.value.reason == reason


def test_a_valid_v1_shape_with_v2_is_rejected_as_unknown_version():
    data = msgspec.to_builtins(make_round())
    data["v"] = 2
    with pytest.raises(wire.WireError) as caught:
        wire.decode_round(msgspec.json.encode(data), "p1")
    assert caught.value.reason == "unknown_version"


def test_topic_must_match_the_probe():
    with pytest.raises(wire.WireError) as caught:
        wire.decode_round(wire.encode(make_round(probe="p2")), "p1")
    assert caught.value.reason == "topic_mismatch"


@pytest.mark.parametrize(
    "topic",
    ["balise/v1/probe/P1/round", "balise/v1/probe/p1/other", "balise/v2/probe/p1/round", "x"],
)
def test_bad_topics(topic):
    with pytest.raises(wire.WireError) as caught:
        wire.parse_topic(topic)
    assert caught.value.reason == "bad_topic"


def test_topics_round_trip():
    assert wire.parse_topic(wire.topic("nc-01", "heartbeat")) == ("nc-01", "heartbeat")


def test_status_and_ack_decode():
    status = Status(probe="p1", state="offline")
    assert wire.decode_status(wire.encode(status), "p1") == status
    assert wire.decode_ack(wire.encode(Ack(probe="p1", seq=7)), "p1").seq == 7
