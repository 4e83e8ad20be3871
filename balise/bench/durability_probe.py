"""A synthetic probe for `balise bench durability`: the real spool and uplink, generated rounds.

    python -m balise.bench.durability_probe --id p1 --mqtt mqtt://127.0.0.1:1883 --state DIR

Every `--round-s` it spools a round of `--targets` generated results and hands it to
the uplink, exactly as probe/service.py does with measured ones. `--unsynced` gives it
a Pi's clock after a reboot without NTP: a wall clock in 1970. On SIGTERM it stops
measuring and waits until the collector has acknowledged every round (exit 0), or
gives up after `--drain-s` (exit 1). SIGKILL is a power cut.
"""

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import sys
import time
import uuid
from pathlib import Path

from balise.model.layers import Layer
from balise.model.messages import ClockInfo, ProbeMeta, Round
from balise.model.results import AnchorResult, DnsResult, TargetResult, TcpResult
from balise.mqtt import MqttSettings
from probe.spool import Spool
from probe.uplink import Uplink

TARGETS = ("tiktok", "facebook", "whatsapp", "youtube", "telegram", "signal", "x", "instagram")
SPOOL_FILE = "spool.sqlite"


def generated_targets(count: int, rng: random.Random) -> tuple[TargetResult, ...]:
    out = []
    for target in TARGETS[:count]:
        domain = f"www.{target}.com"
        dns = DnsResult(
            t0=0.0, t=0.02, domain=domain, qtype="A", resolver="system", answers=("203.0.113.7",)
        )
        address = "203.0.113.7"
        if rng.random() < 0.1:  # noqa: PLR2004 - one result in ten is a reset
            tcp = TcpResult(t0=0.02, t=5.0, failure="connection_reset", address=address, port=443)
            result = TargetResult(
                target=target,
                failed_layer=Layer.TCP,
                failure="connection_reset",
                dns=(dns,),
                tcp=(tcp,),
            )
        else:
            tcp = TcpResult(t0=0.02, t=0.05, address=address, port=443)
            result = TargetResult(target=target, dns=(dns,), tcp=(tcp,))
        out.append(result)
    return tuple(out)


def anchors() -> tuple[AnchorResult, ...]:
    return (
        AnchorResult(
            t0=0.0,
            t=0.002,
            anchor="gateway",
            role="gateway",
            method="tcp",
            address="192.168.1.1",
            rtt_ms=1.5,
        ),
    )


async def run(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    spool = Spool(Path(args.state) / SPOOL_FILE)
    rng = random.Random()  # noqa: S311 - generated measurements, not cryptography
    boot = args.boot or uuid.uuid4().hex
    meta = ProbeMeta(country="NC", region="Sud", asn=64500, network="bench", version="bench")
    uplink = Uplink(
        args.id,
        MqttSettings(url=args.mqtt, backoff_cap_s=2.0, keepalive_s=10),
        spool,
        version="bench",
        on_catalog=lambda _: None,
        clock_synced=lambda: not args.unsynced,
        heartbeat_s=1.0,
        replay_per_s=args.replay_per_s,
        ack_timeout_s=args.ack_timeout_s,
    )
    async with uplink:
        rounds = asyncio.create_task(_rounds(args, spool, uplink, meta, boot, rng), name="rounds")
        await stop.wait()
        rounds.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rounds
        drained = await _drained(spool, uplink, args.drain_s)
    spool.close()
    return 0 if drained else 1


async def _rounds(
    args: argparse.Namespace,
    spool: Spool,
    uplink: Uplink,
    meta: ProbeMeta,
    boot: str,
    rng: random.Random,
) -> None:
    next_start = time.monotonic()
    while True:
        mono = time.monotonic()
        round_ = Round(
            probe=args.id,
            seq=spool.next_seq(),
            started=mono if args.unsynced else time.time(),  # unsynced: "1970" plus uptime
            clock=ClockInfo(mono=mono, boot_id=boot, synced=not args.unsynced),
            meta=meta,
            targets=generated_targets(args.targets, rng),
            anchors=anchors(),
            floor=spool.floor(),
        )
        await asyncio.to_thread(spool.append, round_)
        uplink.round_spooled()
        next_start += args.round_s
        await asyncio.sleep(max(0.0, next_start - time.monotonic()))


async def _drained(spool: Spool, uplink: Uplink, timeout_s: float) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while True:
                uplink.ack_received.clear()
                if not await asyncio.to_thread(spool.backlog):
                    return True
                await uplink.ack_received.wait()
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--id", required=True)
    parser.add_argument("--mqtt", required=True, help="mqtt://host:port")
    parser.add_argument("--state", required=True, help="directory of the spool")
    parser.add_argument("--round-s", type=float, default=1.0)
    parser.add_argument("--targets", type=int, default=6)
    parser.add_argument("--unsynced", action="store_true", help="a wall clock in 1970")
    parser.add_argument("--boot", default=None, help="boot id (default: a new one)")
    parser.add_argument("--replay-per-s", type=float, default=50.0)
    parser.add_argument("--ack-timeout-s", type=float, default=10.0)
    parser.add_argument("--drain-s", type=float, default=90.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
