"""The long-lived collector: MQTT in, stores and detection, events out, HTTP health.

    async with Collector(settings, catalog=catalog, detector=detector) as collector:
        await stop.wait()

Owns its tasks (named `collector.*`); leaving the block stops the subscription,
flushes what is buffered to the store and closes it.
"""

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiomqtt
import msgspec

from balise import wire
from balise.config import ConfigError
from balise.model.catalog import Catalog
from balise.model.events import Event
from balise.mqtt import reconnecting
from collector import api, sharing, status_page
from collector.acks import Acknowledger
from collector.clocks import BootClocks
from collector.counters import Counters
from collector.fleet import Keyring
from collector.http import make_app, serve
from collector.ingest import Ingest
from collector.latest import LatestView
from collector.observers import Detector
from collector.outputs.mqtt_events import MqttEventPublisher
from collector.outputs.outbox import Outbox
from collector.outputs.webhooks import Webhooks
from collector.settings import CollectorSettings
from collector.sharing import NoticePublisher
from collector.stores.batching import BatchWriter
from collector.stores.factory import make_store
from collector.tasks import cancel_and_wait

if TYPE_CHECKING:
    from collector.stores.store import Store

log = logging.getLogger(__name__)

CHANNELS: tuple[wire.Channel, ...] = ("round", "status", "heartbeat")
DETECTOR_STATE = "detector.state"
CLOCKS_FILE = "clocks.sqlite3"
SPILL_FILE = "spill.sqlite3"
FLEET_RELOAD_S = 2.0


class Collector:
    def __init__(
        self,
        settings: CollectorSettings,
        *,
        catalog: Catalog,
        detector: Detector | None = None,
    ) -> None:
        self.settings = settings
        self.counters = Counters()
        self.store: Store = make_store(settings.store, state_dir=Path(settings.state_dir))
        self.http_port: int | None = None  # the port bound, once started
        self._catalog = catalog
        share = self._share = settings.share
        # Sharing a fleet, a storage instance detects nothing (collector/sharing.py).
        self._detector = detector if share is None or share.role == "detect" else None
        batch = settings.batch
        self.acks = Acknowledger()
        self._notices = NoticePublisher() if share is not None and share.role == "store" else None
        self._writer = BatchWriter(
            self.store,
            self.counters,
            batch_size=batch.size,
            interval_s=batch.interval_s,
            writers=batch.writers,
            capacity=batch.capacity,
            backoff_cap_s=batch.backoff_cap_s,
            stop_timeout_s=batch.stop_timeout_s,
            on_done=self.acks.done if self._notices is None else self._notices.done,
            spill_path=Path(settings.state_dir) / SPILL_FILE,
            spill_max_bytes=int(batch.spill_max_mb * 1024 * 1024),
        )
        self.clocks = BootClocks(Path(settings.state_dir) / CLOCKS_FILE)
        self.latest = LatestView()
        fleet = settings.fleet
        self.keyring = Keyring(Path(fleet.registry)) if fleet is not None else None
        self.ingest = Ingest(
            writer=None if share is not None and share.role == "detect" else self._writer,
            observers=[self.latest] if self._detector is None else [self.latest, self._detector],
            counters=self.counters,
            keyring=self.keyring,
            seq_window=fleet.seq_window if fleet is not None else 1_000_000,
            clocks=self.clocks,
            on_duplicate=self.acks.resend,
        )
        outputs = settings.outputs
        self._mqtt_events = MqttEventPublisher(self.counters, capacity=outputs.queue)
        self._store_events = Outbox(
            "store",
            self._store_event,
            self.counters,
            capacity=outputs.queue,
            backoff_cap_s=outputs.backoff_cap_s,
        )
        self._webhooks = Webhooks(settings.webhooks, self.counters, outputs)
        self._stack = contextlib.AsyncExitStack()

    async def flush(self) -> None:
        """Store everything received so far."""
        await self._writer.flush()

    def emit(self, events: list[Event]) -> None:
        """Send changed events to every output: MQTT, the store, the webhooks."""
        self.counters.events_emitted += len(events)
        for event in events:
            self._mqtt_events.put(event)
            self._store_events.put(event)
            self._webhooks.put(event)

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(self.clocks.close)
            stack.push_async_callback(self.store.close)
            await stack.enter_async_context(self._writer)
            await stack.enter_async_context(self._store_events)
            await stack.enter_async_context(self._webhooks)
            host, port = self.settings.http.address()
            app = make_app(self.counters, self.settings.http)
            api.add_routes(
                app, self.latest, self._detector, store=self.store, catalog=self._catalog
            )
            status_page.add_routes(app)
            self.http_port = await stack.enter_async_context(serve(app, host, port))
            tasks = [asyncio.create_task(self._mqtt(), name="collector.mqtt")]
            if self.keyring is not None:
                tasks.append(
                    asyncio.create_task(self._reload_fleet(self.keyring), name="collector.fleet")
                )
            if self._detector is not None:
                tasks.append(
                    asyncio.create_task(self._evaluate(self._detector), name="collector.detection")
                )
            stack.push_async_callback(cancel_and_wait, *tasks)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _mqtt(self) -> None:
        await reconnecting(
            self.settings.mqtt,
            self._session,
            identifier=self.settings.client_id,
            persistent=True,
            on_state=self._mqtt_state,
        )

    def _mqtt_state(self, connected: bool) -> None:  # noqa: FBT001 - balise.mqtt's callback
        if connected and self._detector is not None:
            # Cut from the broker, the collector heard no probe: that silence is not theirs.
            self._detector.was_away()
        self.counters.mqtt_connected = connected

    async def _session(self, client: aiomqtt.Client) -> None:
        for topic in sharing.subscriptions(self._share, CHANNELS):
            await client.subscribe(topic, qos=1)
        tasks = [
            asyncio.create_task(self._consume(client), name="collector.mqtt-consume"),
            asyncio.create_task(self._mqtt_events.run(client), name="collector.mqtt-events"),
        ]
        if self._notices is not None:
            tasks.append(
                asyncio.create_task(self._notices.run(client), name="collector.mqtt-notices")
            )
        else:  # the one instance that acknowledges also publishes the fleet's catalog
            await client.publish(
                wire.CATALOG_TOPIC, msgspec.json.encode(self._catalog), qos=1, retain=True
            )
            tasks.append(asyncio.create_task(self.acks.run(client), name="collector.mqtt-acks"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*(task for task in tasks if not task.done()))
        for task in done:
            task.result()  # re-raises a lost connection for the reconnect loop

    async def _consume(self, client: aiomqtt.Client) -> None:
        handle = self.ingest.handle
        notices = self._share is not None and self._share.role == "detect"
        async for message in client.messages:
            topic = message.topic.value
            if notices and topic == sharing.STORED_TOPIC:
                self._stored(_as_bytes(message.payload))
            else:
                handle(topic, _as_bytes(message.payload), time.time())

    def _stored(self, payload: bytes) -> None:
        """A storage instance's notice: what it stored, to acknowledge to the probes."""
        try:
            self.acks.record(sharing.decode_notice(payload))
        except wire.WireError as exc:
            self.counters.reject(exc.reason)
            log.warning("rejected a stored notice: %s", exc.detail[:200])

    async def _evaluate(self, detector: Detector) -> None:
        interval = self.settings.detection.evaluate_interval_s
        while True:
            await asyncio.sleep(interval)
            if not self.counters.mqtt_connected:
                continue  # hearing no probe, it would judge the whole fleet silent
            try:
                changed = detector.evaluate(time.time())
            except Exception:  # a detector bug must not stop the collector
                log.exception("detector.evaluate failed")
                continue
            if changed:
                self.emit(changed)
            await self._save(detector)

    async def _save(self, detector: Detector) -> None:
        """Keep the detector's state on disk, so open events survive a restart."""
        path = Path(self.settings.state_dir) / DETECTOR_STATE
        data = detector.snapshot()
        await asyncio.to_thread(_write_atomically, path, data)

    async def _reload_fleet(self, keyring: Keyring) -> None:
        """Pick up `balise fleet add|revoke` without a restart."""
        while True:
            await asyncio.sleep(FLEET_RELOAD_S)
            try:
                if await asyncio.to_thread(keyring.reload):
                    log.info("fleet registry %s reloaded", keyring.path)
            except ConfigError:
                log.exception("keeping the previous fleet registry")

    async def _store_event(self, event: Event) -> None:
        await self.store.write_events([event])


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _as_bytes(payload: bytes | bytearray | str | float | None) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return b"" if payload is None else str(payload).encode()
