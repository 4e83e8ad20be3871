"""The generated Mosquitto credentials and ACL, on a real Mosquitto."""

import asyncio
import contextlib
import subprocess

import aiomqtt
import pytest

from balise import wire
from collector import broker_auth
from tests.support.services import Mosquitto, free_port


@pytest.fixture
def locked_broker(tmp_path):
    passwords = {"balise-collector": "c-secret", "probe-a": "a-secret", "probe-b": "b-secret"}
    password_file = tmp_path / "passwords"
    password_file.write_text("".join(broker_auth.password_line(u, p) for u, p in passwords.items()))
    acl_file = tmp_path / "acl"
    acl_file.write_text(broker_auth.acl("balise-collector", ["probe-a", "probe-b"]))
    broker = Mosquitto(
        port=free_port(),
        workdir=tmp_path,
        extra_config=(
            # started as root, Mosquitto would drop to its own user, who cannot read tmp dirs
            "user root\n"
            f"allow_anonymous false\npassword_file {password_file}\nacl_file {acl_file}\n"
        ),
    )
    broker.start()
    yield broker, passwords
    broker.stop()


def client(broker, user, password, **kwargs):
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V5,
        **kwargs,
    )


def test_our_hash_is_what_mosquitto_passwd_checks(tmp_path):
    """Cross-check with Mosquitto's own tool: same salt and password, same hash format."""
    path = tmp_path / "p"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "u", "pw"], check=True)
    line = path.read_text().strip()
    _, _, iterations, salt, _ = line.split("$")
    import base64  # noqa: PLC0415

    ours = broker_auth.password_hash("pw", salt=base64.b64decode(salt))
    assert f"u:{ours}" == line
    assert iterations == str(broker_auth.PBKDF2_ITERATIONS)


async def test_wrong_password_is_refused(locked_broker):
    broker, _ = locked_broker
    with pytest.raises(aiomqtt.MqttError):
        async with client(broker, "probe-a", "wrong"):
            pass


async def test_a_probe_cannot_publish_on_another_probes_topic(locked_broker):
    broker, passwords = locked_broker
    async with client(broker, "balise-collector", passwords["balise-collector"]) as collector:
        await collector.subscribe(wire.subscription("round"), qos=1)
        # Mosquitto answers a forbidden publish by dropping the client's connection (MQTT 5)
        with contextlib.suppress(aiomqtt.MqttError):
            async with client(broker, "probe-a", passwords["probe-a"]) as probe_a:
                await probe_a.publish(wire.topic("probe-b", "round"), b"forged", qos=1)
                await probe_a.publish(wire.topic("probe-b", "round"), b"forged", qos=1)
        async with client(broker, "probe-a", passwords["probe-a"]) as probe_a:
            await probe_a.publish(wire.topic("probe-a", "round"), b"genuine", qos=1)
        received = []
        async with asyncio.timeout(5):
            async for message in collector.messages:
                received.append((message.topic.value, message.payload))
                if message.payload == b"genuine":
                    break
    assert received == [(wire.topic("probe-a", "round"), b"genuine")]


async def test_a_probe_reads_only_its_own_acks_and_the_catalog(locked_broker):
    broker, passwords = locked_broker
    async with client(broker, "probe-a", passwords["probe-a"]) as probe_a:
        await probe_a.subscribe("balise/v1/#", qos=1)
        async with client(broker, "balise-collector", passwords["balise-collector"]) as collector:
            await collector.publish(wire.topic("probe-b", "ack"), b"b's ack", qos=1)
            await collector.publish(wire.topic("probe-a", "ack"), b"a's ack", qos=1)
            await collector.publish(wire.CATALOG_TOPIC, b"catalog", qos=1)
        got = []
        async with asyncio.timeout(5):
            async for message in probe_a.messages:
                got.append(message.payload)
                if message.payload == b"catalog":
                    break
    assert got == [b"a's ack", b"catalog"]
