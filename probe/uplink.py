"""The probe's MQTT uplink: status with Last Will, rounds from the spool, heartbeats,
acknowledgements and the fleet catalog.

Live rounds go out as soon as they are spooled. Rounds left in the spool from
before this connection (a shutdown, a reboot, a lost collector) are replayed
oldest first, marked late and rate-limited, so live rounds are not held up.
A round leaves the spool only on the collector's acknowledgement; if no
acknowledgement comes for `ack_timeout_s`, the connection is recycled and
everything unacknowledged is sent again (the collector deduplicates).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import aiomqtt
import msgspec

from balise import wire
from balise.model.catalog import Catalog
from balise.model.messages import Heartbeat, Round, Status
from balise.mqtt import DisconnectedError, MqttSettings, reconnecting
from probe.spool import Spool

log = logging.getLogger(__name__)


class Uplink:
    def __init__(
        self,
        probe_id: str,
        mqtt: MqttSettings,
        spool: Spool,
        *,
        version: str,
        on_catalog: Callable[[Catalog], None],
        clock_synced: Callable[[], bool],
        heartbeat_s: float = 30.0,
        replay_per_s: float = 5.0,
        ack_timeout_s: float = 300.0,
        sign: Callable[[bytes], bytes] | None = None,
        compress: bool = True,
    ) -> None:
        """`sign` turns an encoded round (ending `"sig":null}`) into a signed one;
        `compress` sends rounds in the compressed wire form, signed JSON inside."""
        self.probe_id = probe_id
        self._sign = sign
        self._compress = compress
        self._mqtt = mqtt
        self._spool = spool
        self._version = version
        self._on_catalog = on_catalog
        self._clock_synced = clock_synced
        self._heartbeat_s = heartbeat_s
        self._replay_interval = 1.0 / replay_per_s
        self._ack_timeout_s = ack_timeout_s
        self._new_round = asyncio.Event()
        self.ack_received = asyncio.Event()  # set on every acknowledgement; clear to wait again
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._round_decoder = msgspec.json.Decoder(Round)
        self.connected = False
        self.rounds_published = 0  # each round counted once, however often it is resent
        self.results_published = 0
        self._sent: set[int] = set()  # seqs published and not yet acknowledged

    async def __aenter__(self) -> Self:
        will = aiomqtt.Will(
            wire.topic(self.probe_id, "status"),
            wire.encode(Status(probe=self.probe_id, state="offline", version=self._version)),
            qos=1,
            retain=True,
        )
        self._task = asyncio.create_task(
            reconnecting(
                self._mqtt,
                self._session,
                identifier=f"balise-probe-{self.probe_id}",
                will=will,
                on_state=self._set_connected,
            ),
            name=f"uplink:{self.probe_id}",
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client = self._client
        if client is not None:
            # A clean stop says so itself; the Last Will is for unclean ones.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(2):
                    await self._publish_status(client, "offline")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def round_spooled(self) -> None:
        self._new_round.set()

    def _set_connected(self, connected: bool) -> None:  # noqa: FBT001 - reconnecting's callback
        self.connected = connected
        if not connected:
            self._client = None

    async def _publish_status(self, client: aiomqtt.Client, state: str) -> None:
        status = Status(probe=self.probe_id, state=state, at=time.time(), version=self._version)  # type: ignore[arg-type]
        await client.publish(
            wire.topic(self.probe_id, "status"), wire.encode(status), qos=1, retain=True
        )

    async def _session(self, client: aiomqtt.Client) -> None:
        self._client = client
        await client.subscribe(wire.CATALOG_TOPIC, qos=1)
        await client.subscribe(wire.topic(self.probe_id, "ack"), qos=1)
        await self._publish_status(client, "online")
        live_from = self._spool.next_seq()
        async with asyncio.TaskGroup() as group:
            name = self.probe_id
            group.create_task(self._receive(client), name=f"uplink-receive:{name}")
            group.create_task(self._send_live(client, live_from), name=f"uplink-live:{name}")
            group.create_task(self._replay(client, live_from), name=f"uplink-replay:{name}")
            group.create_task(self._heartbeat(client), name=f"uplink-heartbeat:{name}")

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if message.topic.matches(wire.CATALOG_TOPIC):
                try:
                    catalog = wire.decode_catalog(payload)
                except wire.WireError as exc:
                    log.warning("ignoring a catalog that does not decode: %s", exc)
                    continue
                self._on_catalog(catalog)
            else:
                try:
                    ack = wire.decode_ack(payload, self.probe_id)
                except wire.WireError as exc:
                    log.warning("ignoring an acknowledgement: %s", exc)
                    continue
                await asyncio.to_thread(self._spool.ack, ack.seq)
                self._sent = {seq for seq in self._sent if seq > ack.seq}
                self.ack_received.set()

    async def _publish_round(self, client: aiomqtt.Client, round_: Round, payload: bytes) -> None:
        if self._sign is not None:
            payload = self._sign(payload)
        if self._compress:
            payload = wire.compress(payload)
        await client.publish(wire.topic(self.probe_id, "round"), payload, qos=1)
        if round_.seq not in self._sent:
            self._sent.add(round_.seq)
            self.rounds_published += 1
            self.results_published += len(round_.targets)

    async def _send_live(self, client: aiomqtt.Client, live_from: int) -> None:
        sent = live_from - 1
        while True:
            for spooled in await asyncio.to_thread(self._spool.pending, after=sent):
                round_ = self._round_decoder.decode(spooled.payload)
                await self._publish_round(client, round_, spooled.payload)
                sent = spooled.seq
            self._new_round.clear()
            if not await asyncio.to_thread(self._spool.pending, after=sent, limit=1):
                await self._new_round.wait()

    async def _replay(self, client: aiomqtt.Client, live_from: int) -> None:
        sent = self._spool.acked()
        while True:
            batch = [
                r
                for r in await asyncio.to_thread(self._spool.pending, after=sent, limit=50)
                if r.seq < live_from
            ]
            if not batch:
                return
            for spooled in batch:
                late = msgspec.structs.replace(
                    self._round_decoder.decode(spooled.payload), late=True
                )
                await self._publish_round(client, late, wire.encode(late))
                sent = spooled.seq
                await asyncio.sleep(self._replay_interval)

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        unacked_since: float | None = None
        while True:
            backlog = await asyncio.to_thread(self._spool.backlog)
            heartbeat = Heartbeat(
                probe=self.probe_id,
                at=time.time(),
                last_seq=self._spool.next_seq() - 1,
                backlog=backlog,
                floor=await asyncio.to_thread(self._spool.floor),
                clock_synced=self._clock_synced(),
            )
            await client.publish(
                wire.topic(self.probe_id, "heartbeat"), wire.encode(heartbeat), qos=0
            )
            now = time.monotonic()
            if backlog == 0:
                unacked_since = None
            elif unacked_since is None:
                unacked_since = now
            elif now - unacked_since > self._ack_timeout_s:
                raise DisconnectedError("no acknowledgement from the collector; resending")
            await asyncio.sleep(self._heartbeat_s)
