"""The real services the integration tests rely on start and answer."""

import asyncio

import aiomqtt


async def test_mosquitto_round_trip(mosquitto):
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        await client.subscribe("t/#", qos=1)
        await client.publish("t/x", b"hello", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert message.payload == b"hello"
                break


def test_influxdb_answers_influxql(influxdb):
    influxdb.query("", "CREATE DATABASE smoke")
    assert influxdb.query("smoke", "SHOW MEASUREMENTS") == []
