"""The bare consumer `balise bench ingest` compares the collector with.

It receives the same messages from the same broker through the same client library
(aiomqtt, QoS 1, a persistent session) and decodes and validates them as ingest
does (`balise.wire`), then does nothing else: no deduplication, no storage, no
detection, no acknowledgements. What the collector achieves relative to it is the
cost of everything the collector adds.
"""

import asyncio
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from balise import wire
from balise.mqtt import MqttSettings, make_client

IDENTIFIER = "bench-baseline"
CHANNELS: tuple[wire.Channel, ...] = ("round", "status", "heartbeat")
IDLE_S = 30.0  # give up when nothing arrives for this long


@dataclass(frozen=True, slots=True)
class BaselineReport:
    rounds: int
    results: int
    connected: float  # wall clock, when the session was up
    last: float  # when the last expected round was decoded
    rejected: int


async def _subscribe_only(url: str) -> None:
    """Leave a persistent session subscribed: the broker queues messages for it."""
    settings = MqttSettings(url=url)
    async with make_client(settings, identifier=IDENTIFIER, persistent=True) as client:
        for channel in CHANNELS:
            await client.subscribe(wire.subscription(channel), qos=1)


async def _drain(url: str, expected_rounds: int) -> BaselineReport:
    """Take what the session holds until `expected_rounds` rounds are decoded; unsubscribe."""
    settings = MqttSettings(url=url)
    rounds = results = rejected = 0
    async with make_client(settings, identifier=IDENTIFIER, persistent=True) as client:
        connected = last = time.time()
        messages = aiter(client.messages)
        while rounds < expected_rounds:
            async with asyncio.timeout(IDLE_S):
                message = await anext(messages)
            payload = message.payload
            try:
                probe, channel = wire.parse_topic(message.topic.value)
                if channel == "round" and isinstance(payload, bytes):
                    results += len(wire.decode_round(payload, probe).targets)
                    rounds += 1
            except wire.WireError:
                rejected += 1
        last = time.time()
        for channel in CHANNELS:
            await client.unsubscribe(wire.subscription(channel))
    return BaselineReport(rounds, results, connected, last, rejected)


def run_baseline(url: str, expected_rounds: int, conn: Connection) -> None:
    """The baseline process: with `expected_rounds` 0, only subscribe; else drain."""
    if expected_rounds == 0:
        asyncio.run(_subscribe_only(url))
        conn.send(None)
    else:
        conn.send(asyncio.run(_drain(url, expected_rounds)))
    conn.close()
