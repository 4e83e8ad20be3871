"""Topics and the codec of wire format v1 (docs/wire-format.md).

Decoding is strict: a payload either becomes a typed message or raises
`WireError` with a `reason` the collector counts by. A payload is JSON, or
`ZLIB` followed by the JSON compressed (RFC 1950): probes compress their rounds,
and every decoder here takes both forms.
"""

import re
import zlib
from typing import Final, Literal, TypeVar

import msgspec

from balise.model.catalog import Catalog
from balise.model.messages import WIRE_MAJOR, Ack, Envelope, Heartbeat, Round, Status

PREFIX: Final = "balise/v1"
CATALOG_TOPIC: Final = f"{PREFIX}/catalog"
EVENTS_TOPIC: Final = f"{PREFIX}/events"
PROBE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_PAYLOAD: Final = 256 * 1024  # bytes on the wire, and of the JSON once decompressed
# The compressed form's first byte, which no JSON text starts with; another encoding
# would take another byte.
ZLIB: Final = b"\x01"

Channel = Literal["round", "status", "heartbeat", "ack"]
CHANNELS: Final[tuple[Channel, ...]] = ("round", "status", "heartbeat", "ack")

RejectReason = Literal["oversized", "bad_topic", "malformed", "unknown_version", "topic_mismatch"]


class WireError(ValueError):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        self.detail = detail


def topic(probe_id: str, channel: Channel) -> str:
    return f"{PREFIX}/probe/{probe_id}/{channel}"


def subscription(channel: Channel) -> str:
    return f"{PREFIX}/probe/+/{channel}"


def parse_topic(name: str) -> tuple[str, Channel]:
    """`balise/v1/probe/<id>/<channel>` → (id, channel)."""
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{PREFIX}/probe":  # noqa: PLR2004
        raise WireError("bad_topic", f"not a probe topic: {name!r}")
    probe_id, channel = parts[3], parts[4]
    if not PROBE_ID.match(probe_id):
        raise WireError("bad_topic", f"invalid probe id in topic: {probe_id!r}")
    for known in CHANNELS:
        if channel == known:
            return probe_id, known
    raise WireError("bad_topic", f"unknown channel {channel!r}")


T = TypeVar("T")
M = TypeVar("M", Round, Status, Heartbeat, Ack)

_encoder = msgspec.json.Encoder()
_round = msgspec.json.Decoder(Round)
_status = msgspec.json.Decoder(Status)
_heartbeat = msgspec.json.Decoder(Heartbeat)
_ack = msgspec.json.Decoder(Ack)
_envelope = msgspec.json.Decoder(Envelope)
_catalog = msgspec.json.Decoder(Catalog)


def encode(message: Round | Status | Heartbeat | Ack) -> bytes:
    return _encoder.encode(message)


def compress(payload: bytes) -> bytes:
    """A JSON message in the compressed form (about a fifth of a round's size)."""
    return ZLIB + zlib.compress(payload, 9)


def decompress(payload: bytes) -> bytes:
    """The JSON of a payload in either form, at most `MAX_PAYLOAD` bytes of it."""
    if len(payload) > MAX_PAYLOAD:
        raise WireError("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD}")
    if not payload.startswith(ZLIB):
        return payload
    inflater = zlib.decompressobj()
    try:
        # One byte past the bound tells an oversized message apart without inflating it all.
        inflated = inflater.decompress(payload[len(ZLIB) :], MAX_PAYLOAD + 1)
    except zlib.error as exc:
        raise WireError("malformed", f"compressed payload: {exc}") from exc
    if len(inflated) > MAX_PAYLOAD:
        raise WireError("oversized", f"decompressed to more than {MAX_PAYLOAD} bytes")
    if not inflater.eof or inflater.unused_data:
        raise WireError("malformed", "compressed payload: truncated, or data after its end")
    return inflated


def _decode(decoder: msgspec.json.Decoder[T], payload: bytes) -> T:
    payload = decompress(payload)
    try:
        return decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec lets bad UTF-8 through
        # Tell a message of another major version apart from a broken one.
        try:
            version = _envelope.decode(payload).v
        except (msgspec.DecodeError, UnicodeDecodeError):
            version = WIRE_MAJOR
        if version != WIRE_MAJOR:
            raise WireError("unknown_version", f"wire major version {version}") from exc
        raise WireError("malformed", str(exc)) from exc


def _checked(message: M, probe_id: str) -> M:
    if message.v != WIRE_MAJOR:
        raise WireError("unknown_version", f"wire major version {message.v}")
    if message.probe != probe_id:
        raise WireError("topic_mismatch", f"message of {message.probe!r} on {probe_id!r}'s topic")
    return message


def decode_round(payload: bytes, probe_id: str) -> Round:
    return _checked(_decode(_round, payload), probe_id)


def decode_status(payload: bytes, probe_id: str) -> Status:
    return _checked(_decode(_status, payload), probe_id)


def decode_heartbeat(payload: bytes, probe_id: str) -> Heartbeat:
    return _checked(_decode(_heartbeat, payload), probe_id)


def decode_ack(payload: bytes, probe_id: str) -> Ack:
    return _checked(_decode(_ack, payload), probe_id)


def decode_catalog(payload: bytes) -> Catalog:
    """The fleet's catalog, as the collector publishes it (JSON)."""
    if len(payload) > MAX_PAYLOAD:
        raise WireError("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD}")
    try:
        return _catalog.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise WireError("malformed", str(exc)) from exc
