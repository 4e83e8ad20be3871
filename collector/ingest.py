"""Every message from the broker enters here: validated, counted, deduplicated, handed on.

`handle` is synchronous and never raises on bad input: a message that fails
validation is counted by reason, logged (rate-limited, never its content) and
dropped, and the collector goes on with the next one.
"""

import logging
from collections.abc import Callable, Sequence

from balise import wire
from balise.model.messages import Heartbeat, Round, Status
from collector.clocks import BootClocks
from collector.counters import Counters
from collector.fleet import Keyring
from collector.observers import Observer
from collector.received import Received
from collector.seen import SeenSeqs
from collector.stores.batching import BatchWriter
from collector.throttled_log import ThrottledLog

log = logging.getLogger(__name__)

DETAIL_CHARS = 200


class Ingest:
    def __init__(
        self,
        *,
        writer: BatchWriter | None,
        observers: Sequence[Observer],
        counters: Counters,
        keyring: Keyring | None = None,
        seq_window: int = 1_000_000,
        clocks: BootClocks | None = None,
        on_duplicate: Callable[[str, int], None] | None = None,
    ) -> None:
        """With a `keyring`, rounds must be signed by an enrolled, unrevoked probe.
        `on_duplicate(probe, seq)` hears of every round received again.

        Without a `writer` nothing is stored or placed in time: messages only reach the
        observers (the detecting instance of several sharing a fleet, collector/sharing.py).
        """
        self._keyring = keyring
        self._seq_window = seq_window
        self._writer = writer
        self._clocks = clocks or BootClocks()
        self._observers = tuple(observers)
        self._on_duplicate = on_duplicate
        self._counters = counters
        self._seen: dict[str, SeenSeqs] = {}
        self._log = ThrottledLog(log)

    def handle(self, topic: str, payload: bytes, received_at: float) -> None:
        self._counters.received += 1
        try:
            probe_id, channel = wire.parse_topic(topic)
            if channel == "round":
                # Inflated once here: the signature, the decoder and the raw archive take JSON.
                payload = wire.decompress(payload)
                if self._keyring is not None and not self._signed(probe_id, payload):
                    return
                self._round(wire.decode_round(payload, probe_id), payload, received_at)
            elif channel == "status":
                self._other(wire.decode_status(payload, probe_id), payload, received_at)
            elif channel == "heartbeat":
                self._other(wire.decode_heartbeat(payload, probe_id), payload, received_at)
            else:
                self._reject("bad_topic", f"{topic!r}: the collector does not take {channel!r}")
        except wire.WireError as exc:
            self._reject(exc.reason, f"{topic!r}: {exc.detail}")

    def _round(self, round_: Round, payload: bytes, received_at: float) -> None:
        seen = self._seen.get(round_.probe)
        if seen is None:
            seen = self._seen[round_.probe] = SeenSeqs()
        if round_.seq in seen:
            self._duplicate(round_)
            return
        newest = seen.newest()
        if newest is not None and round_.seq > newest + self._seq_window:
            self._reject("seq_out_of_window", f"round {round_.probe}#{round_.seq} after #{newest}")
            return
        if self._writer is not None:
            placement = self._clocks.place(round_, received_at)
            if placement is None:  # no anchor for its boot yet: the probe sends it again
                self._counters.clock_deferred += 1
                return
            if not self._writer.offer(Received(round_, payload, received_at, placement)):
                self._reject(
                    "buffer_full", f"round {round_.probe}#{round_.seq}: store backlog full"
                )
                return
            if not placement.wall_clock:
                self._counters.clock_suspect += 1
        seen.add(round_.seq)
        for observer in self._observers:
            try:
                observer.observe_round(round_, received_at)
            except Exception:  # noqa: BLE001 - an observer's bug must not stop ingest
                self._observer_failed(observer)

    def _duplicate(self, round_: Round) -> None:
        self._counters.duplicates += 1
        if self._on_duplicate is not None:
            self._on_duplicate(round_.probe, round_.seq)

    def _other(self, message: Status | Heartbeat, payload: bytes, received_at: float) -> None:
        if self._writer is not None and not self._writer.offer(
            Received(message, payload, received_at)
        ):
            self._reject("buffer_full", f"{message.probe}: store backlog full")
            return
        for observer in self._observers:
            try:
                if isinstance(message, Status):
                    observer.observe_status(message, received_at)
                else:
                    observer.observe_heartbeat(message, received_at)
            except Exception:  # noqa: BLE001 - an observer's bug must not stop ingest
                self._observer_failed(observer)

    def _signed(self, probe_id: str, payload: bytes) -> bool:
        assert self._keyring is not None
        reason = self._keyring.check(probe_id, payload)
        if reason is None:
            return True
        self._reject(reason, f"round from {probe_id!r}")
        return False

    def _observer_failed(self, observer: Observer) -> None:
        self._counters.observer_errors += 1
        name = type(observer).__name__
        self._warn(f"observer:{name}", f"observer {name} failed", exc_info=True)

    def _reject(self, reason: str, detail: str) -> None:
        self._counters.reject(reason)
        self._warn(reason, f"rejected ({reason}) {detail[:DETAIL_CHARS]}")

    def _warn(self, key: str, message: str, *, exc_info: bool = False) -> None:
        self._log.warning(key, message, exc_info=exc_info)
