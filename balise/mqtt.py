"""MQTT connection settings and the one reconnect loop, shared by probe and collector.

aiomqtt's exceptions stop here: a session callback sees a connected client, and
a lost connection is retried with jittered, capped backoff (balise.backoff).
"""

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import aiomqtt
import msgspec
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from balise import backoff

log = logging.getLogger(__name__)

# QoS 1 publications on the wire before the broker's replies: no limit of paho's (its
# default: 20). Each publisher bounds its own (a probe sends a round at a time, the
# collector's events and stored notices are few), and with a limit paho scans every
# publication waiting at each PUBACK. How many publications may wait before aiomqtt warns
# (its default: 10): the collector acknowledges thousands of rounds a batch
# (collector/acks.py, 512 at once).
MAX_INFLIGHT = 0  # paho: unlimited
MAX_PENDING_PUBLICATIONS = 1024


class MqttSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "mqtt://127.0.0.1:1883"  # mqtt:// or mqtts:// (TLS)
    username: str | None = None
    password: str | None = None
    password_file: str | None = None  # read at start-up; keeps the secret out of the settings
    ca_file: str | None = None  # trust this CA for mqtts:// instead of the system store
    cert_file: str | None = None  # client certificate, when the broker asks for one
    key_file: str | None = None
    # 3.1.1 by default: every broker speaks it, and paho reads MQTT 5 packets at a quarter
    # more CPU (a Properties object each), for nothing Balise uses but the session expiry,
    # which the broker's `persistent_client_expiration` bounds as well (docs/performance.md).
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_s: int = 30
    backoff_cap_s: float = 60.0

    def endpoint(self) -> tuple[str, int, bool]:
        parts = urlsplit(self.url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError(f"mqtt.url must look like mqtt://host:port, not {self.url!r}")
        tls = parts.scheme == "mqtts"
        return parts.hostname, parts.port or (8883 if tls else 1883), tls

    def secret(self) -> str | None:
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        return self.password


class DisconnectedError(Exception):
    """The broker connection dropped; the reconnect loop handles it."""


def make_client(
    settings: MqttSettings,
    *,
    identifier: str,
    will: aiomqtt.Will | None = None,
    persistent: bool = True,
) -> aiomqtt.Client:
    host, port, tls = settings.endpoint()
    context: ssl.SSLContext | None = None
    if tls:
        context = ssl.create_default_context(cafile=settings.ca_file)
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file)
    v5 = settings.protocol == "5"
    client = aiomqtt.Client(
        host,
        port,
        username=settings.username,
        password=settings.secret(),
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        will=will,
        # A persistent session keeps QoS 1 messages queued at the broker while we are away.
        clean_session=None if v5 else not persistent,
        # paho refuses clean_start outside MQTT 5 unless it keeps its default
        clean_start=(not persistent) if v5 else MQTT_CLEAN_START_FIRST_ONLY,
        properties=_session_expiry() if v5 and persistent else None,
        keepalive=settings.keepalive_s,
        tls_context=context,
        timeout=10,
        max_inflight_messages=MAX_INFLIGHT,
    )
    client.pending_calls_threshold = MAX_PENDING_PUBLICATIONS
    return client


def _session_expiry() -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 7 * 24 * 3600
    return props


async def reconnecting(
    settings: MqttSettings,
    session: Callable[[aiomqtt.Client], Awaitable[None]],
    *,
    identifier: str,
    will: aiomqtt.Will | None = None,
    persistent: bool = True,
    on_state: Callable[[bool], None] | None = None,
) -> None:
    """Run `session` with a connected client, forever, reconnecting with backoff.

    Returns only when `session` returns; cancelling the caller stops it.
    """
    delays = backoff.delays(cap=settings.backoff_cap_s)
    while True:
        lost: BaseException | None = None
        try:
            async with make_client(
                settings, identifier=identifier, will=will, persistent=persistent
            ) as client:
                delays = backoff.delays(cap=settings.backoff_cap_s)
                if on_state:
                    on_state(True)  # noqa: FBT003 - a one-argument callback
                await session(client)
                return
        # A session may run task groups: the connection loss then comes wrapped.
        except* (aiomqtt.MqttError, DisconnectedError) as group:
            lost = group.exceptions[0]
        if on_state:
            on_state(False)  # noqa: FBT003 - a one-argument callback
        delay = next(delays)
        log.warning("mqtt %s: %s; retrying in %.1fs", settings.url, lost, delay)
        await asyncio.sleep(delay)
