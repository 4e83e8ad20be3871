"""End-to-end acknowledgements: tell each probe which of its rounds are stored.

A broker's PUBACK is not proof of storage; this is. After every successful
store write, each probe's acknowledgement advances to the highest seq such that
every round above its floor (rounds the probe no longer holds) and up to it is
stored. Acknowledgements are retained, so a probe learns its state on reconnect,
and coalesced: only the newest per probe is sent.

They go at QoS 0. An acknowledgement is cumulative and retained: the broker keeps the
newest, a probe gets it again each time it subscribes, and a later one covers an earlier
one lost. What QoS 1 would add is a PUBACK per acknowledgement, a tenth of the
collector's CPU under a large fleet (docs/performance.md). What QoS 0 can lose is what
was on its way when the collector's broker session ended: each new session sends every
probe's current acknowledgement again, and so does a round received twice (its probe
did not hear that it was stored).
"""

import asyncio
import itertools
import math
from collections.abc import Iterable, Sequence

import aiomqtt

from balise import wire
from balise.model.messages import Ack
from collector.received import Received
from collector.seen import SeenSeqs
from collector.sharing import Stored, stored_of

SEND_AT_ONCE = 512  # published together, then the next ones


class _ProbeAcks:
    __slots__ = ("acked", "floor", "stored")

    def __init__(self) -> None:
        self.stored = SeenSeqs()
        self.floor = 0
        self.acked = 0

    def advance(self) -> bool:
        ack = max(self.acked, self.floor)
        for lo, hi in self.stored.ranges():
            if hi <= ack:
                continue
            if lo > ack + 1:
                break
            ack = hi
        moved = ack > self.acked
        self.acked = ack
        return moved


class Acknowledger:
    def __init__(self) -> None:
        self._probes: dict[str, _ProbeAcks] = {}
        self._due: dict[str, int] = {}  # probe → newest acknowledgement not yet sent
        self._wake = asyncio.Event()

    def acked(self, probe: str) -> int:
        state = self._probes.get(probe)
        return state.acked if state else 0

    def done(self, batch: Sequence[Received]) -> None:
        """BatchWriter's `on_done`: these messages are stored (or given up for good)."""
        self.record(stored_of(batch))

    def record(self, stored: Iterable[Stored]) -> None:
        """Rounds stored, here or by another instance (collector/sharing.py)."""
        touched: set[str] = set()
        for probe, seq, floor in stored:
            state = self._probes.get(probe)
            if state is None:
                state = self._probes[probe] = _ProbeAcks()
            state.floor = max(state.floor, floor)
            if seq:
                state.stored.add(seq)
            touched.add(probe)
        for probe in touched:
            state = self._probes[probe]
            if state.advance():
                self._due[probe] = state.acked
        if self._due:
            self._wake.set()

    def resend(self, probe: str, seq: int) -> None:
        """Round `seq` of `probe` came again: if it is acknowledged, say so again."""
        state = self._probes.get(probe)
        if state is not None and 0 < seq <= state.acked:
            self._due[probe] = state.acked
            self._wake.set()

    async def run(self, client: aiomqtt.Client) -> None:
        """Send due acknowledgements while this broker session lasts, starting with every
        probe's current one: what the last session had on its way may not have arrived."""
        for probe, state in self._probes.items():
            if state.acked:
                self._due[probe] = state.acked
        self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._due:
                sending = list(itertools.islice(self._due.items(), SEND_AT_ONCE))
                await asyncio.gather(
                    *(
                        client.publish(
                            wire.topic(probe, "ack"),
                            wire.encode(Ack(probe=probe, seq=seq)),
                            qos=0,
                            retain=True,
                            timeout=math.inf,  # a busy broker is no lost connection
                        )
                        for probe, seq in sending
                    )
                )
                for probe, seq in sending:
                    if self._due.get(probe) == seq:
                        del self._due[probe]
