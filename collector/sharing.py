"""Several collectors for one fleet: storage shared, detection and acknowledgements in one.

With `[share]` in the settings a collector plays one of two roles
(docs/performance.md, "Scale-out"):

- `store`: subscribes to the probes' topics through the MQTT shared subscription
  `$share/<group>/...`, so the broker hands each message to one instance of the group;
  validates, deduplicates, places and stores what it gets, detects nothing, and
  instead of acknowledging to probes publishes a *stored notice* on `STORED_TOPIC`:
  which (probe, seq) it stored, with the probes' floors.
- `detect`: subscribes to every message (no sharing) and to the stored notices;
  feeds the detector, sends the probes' acknowledgements from the notices, and
  stores only events.

A probe's acknowledgement needs every one of its rounds stored, whichever instance
stored it, and a detector needs every probe of a scope: both are central, the
expensive part (line protocol and the store) is shared.
"""

import asyncio
import collections
import math
import re
from collections.abc import Sequence
from typing import Final, Literal

import aiomqtt
import msgspec

from balise import wire
from balise.model.messages import WIRE_MAJOR, Heartbeat, Round
from collector.received import Received

STORED_TOPIC: Final = f"{wire.PREFIX}/collector/stored"
GROUP = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# (probe, seq, floor): a round stored; seq 0 is a heartbeat, which only moves the floor.
Stored = tuple[str, int, int]


class ShareSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    group: str  # the shared subscription's name: $share/<group>/balise/v1/probe/+/round
    role: Literal["store", "detect"] = "store"

    def __post_init__(self) -> None:
        if not GROUP.match(self.group):
            raise ValueError(f"share.group: letters, digits, - and _ only, not {self.group!r}")


class StoredNotice(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """What one storage instance stored in one batch."""

    v: int
    stored: tuple[Stored, ...]


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(StoredNotice).decode


def subscriptions(share: ShareSettings | None, channels: Sequence[wire.Channel]) -> list[str]:
    """The topic filters a collector subscribes to."""
    plain = [wire.subscription(channel) for channel in channels]
    if share is None:
        return plain
    if share.role == "store":
        return [f"$share/{share.group}/{topic}" for topic in plain]
    return [*plain, STORED_TOPIC]


def stored_of(batch: Sequence[Received]) -> list[Stored]:
    """What a stored batch tells the acknowledgements: rounds and heartbeats' floors."""
    out: list[Stored] = []
    for item in batch:
        message = item.message
        if isinstance(message, Round):
            out.append((message.probe, message.seq, message.floor))
        elif isinstance(message, Heartbeat):
            out.append((message.probe, 0, message.floor))
    return out


def decode_notice(payload: bytes) -> tuple[Stored, ...]:
    """The notice's entries; raises wire.WireError when it is not one."""
    try:
        notice = _decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise wire.WireError("malformed", f"stored notice: {exc}") from exc
    if notice.v != WIRE_MAJOR:
        raise wire.WireError("unknown_version", f"stored notice version {notice.v}")
    return notice.stored


class NoticePublisher:
    """A storage instance's notices, queued by the batch writer, published in order."""

    def __init__(self) -> None:
        self._pending: collections.deque[tuple[Stored, ...]] = collections.deque()
        self._wake = asyncio.Event()

    def done(self, batch: Sequence[Received]) -> None:
        """BatchWriter's `on_done`, as Acknowledger.done is for a lone collector."""
        stored = tuple(stored_of(batch))
        if stored:
            self._pending.append(stored)
            self._wake.set()

    async def run(self, client: aiomqtt.Client) -> None:
        """Publish queued notices while this broker session lasts; one lost with the
        session is covered by the probe, which sends unacknowledged rounds again."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                notice = StoredNotice(v=WIRE_MAJOR, stored=self._pending[0])
                # No time limit, as for acknowledgements (collector/acks.py).
                await client.publish(STORED_TOPIC, _encode(notice), qos=1, timeout=math.inf)
                self._pending.popleft()
