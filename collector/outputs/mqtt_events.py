"""Changed events published on balise/v1/events (QoS 1, JSON), while a broker session is up.

Runs inside the collector's MQTT session: a lost connection ends `run` with
aiomqtt's error, which the reconnect loop (balise.mqtt) handles; the event
being sent stays queued and goes out on the next session.
"""

import math

import aiomqtt
import msgspec

from balise import wire
from balise.model.events import Event
from collector.counters import Counters
from collector.outputs.queue import EventQueue


class MqttEventPublisher:
    def __init__(self, counters: Counters, *, capacity: int) -> None:
        self._queue = EventQueue("mqtt", counters, capacity=capacity)

    def put(self, event: Event) -> None:
        self._queue.put(event)

    async def run(self, client: aiomqtt.Client) -> None:
        while True:
            event = await self._queue.head()
            payload = msgspec.json.encode(event)
            # No time limit: under load the broker's reply can take longer than aiomqtt's
            # default ten seconds, and a timeout would end the session (as in acks.py).
            await client.publish(wire.EVENTS_TOPIC, payload, qos=1, timeout=math.inf)
            self._queue.delivered()
