"""The shipped Mosquitto configuration (collector/broker/mosquitto.conf), which the `mosquitto`
fixture includes: a subscriber away keeps every QoS 1 message, past Mosquitto's default
queue of 1000, and across a broker restart."""

import asyncio

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support.services import Mosquitto, free_port

COUNT = 3000


def session_client(port: int, identifier: str) -> aiomqtt.Client:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=props,
    )


async def publish(port: int, topic: str, count: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for i in range(count):
            await client.publish(topic, str(i), qos=1)


async def receive(client: aiomqtt.Client, count: int) -> set[int]:
    got: set[int] = set()
    async with asyncio.timeout(30):
        async for message in client.messages:
            got.add(int(message.payload))  # type: ignore[arg-type]
            if len(got) == count:
                break
    return got


async def test_an_absent_subscriber_gets_every_message_after_a_broker_restart(tmp_path):
    # Started as root, Mosquitto would drop to its own user, who cannot save in tmp_path.
    broker = Mosquitto(port=free_port(), workdir=tmp_path, extra_config="user root\n")
    broker.start()
    try:
        async with session_client(broker.port, "durable-sub") as client:
            await client.subscribe("dur/queue", qos=1)
        await publish(broker.port, "dur/queue", COUNT)
        broker.stop()  # a clean stop saves the queue
        broker.start()
        async with session_client(broker.port, "durable-sub") as client:
            got = await receive(client, COUNT)
    finally:
        broker.stop()
    assert got == set(range(COUNT))
