import itertools
import time

import msgspec

from balise.model.catalog import Anchor, Catalog
from balise.model.layers import Layer
from probe.check import render_check
from probe.round import measure_round
from tests.probe.conftest import World
from tests.support.local_tls import refused_port


def catalog(world: World, *, every: int = 5, targets=None) -> Catalog:
    return Catalog(
        targets=targets
        or (
            world.target(
                "platform.test", throughput_url=f"http://platform.test:{world.http_port}/big"
            ),
            world.target("nothing.test"),
            world.target("sni-blocked.test", port=world.censor_port),
        ),
        anchors=(
            Anchor(id="resolver", role="resolver", address="auto", port=refused_port()),
            Anchor(id="intl", role="international", address="127.0.0.1", port=refused_port()),
        ),
        throughput_every=every,
    )


def settings(world: World, **overrides):
    return msgspec.structs.replace(world.settings, icmp=False, **overrides)


async def test_round_measures_every_target_and_anchor(world: World, clock):
    targets, anchors = await measure_round(
        catalog(world), settings(world), world.backend(), 1, clock=clock
    )
    assert [(t.target, t.failed_layer, t.failure) for t in targets] == [
        ("platform", None, None),
        ("nothing", Layer.DNS, "dns_nxdomain_error"),
        ("sni-blocked", Layer.TLS, "connection_reset"),
    ]
    assert [(a.anchor, a.failure) for a in anchors] == [("resolver", None), ("intl", None)]
    throughput = targets[0].throughput
    assert throughput is not None
    assert throughput.failure is None
    assert throughput.bytes == 256_000  # the default throughput_max_bytes; the object is larger


async def test_throughput_only_every_n_rounds(world: World, clock):
    due = []
    for round_no in (1, 2, 3, 4):
        targets, _ = await measure_round(
            catalog(
                world,
                every=3,
                targets=(
                    world.target(
                        "platform.test",
                        throughput_url=f"http://platform.test:{world.http_port}/big",
                    ),
                ),
            ),
            settings(world),
            world.backend(),
            round_no,
            clock=clock,
        )
        due.append(targets[0].throughput is not None)
    assert due == [True, False, False, True]


async def test_throughput_objects_take_turns_one_download_a_round(world: World, clock):
    url = f"http://platform.test:{world.http_port}/big"
    targets = (
        world.target("platform.test", id="first", throughput_url=url),
        world.target("platform.test", id="plain"),
        world.target("platform.test", id="second", throughput_url=url),
    )
    one_at_a_time = msgspec.structs.replace(
        catalog(world, every=2, targets=targets), throughput_objects=1
    )
    downloads = []
    for round_no in range(1, 7):
        results, _ = await measure_round(
            one_at_a_time,
            settings(world),
            world.backend(),
            round_no,
            clock=clock,
        )
        downloads.append([r.target for r in results if r.throughput is not None])
    assert downloads == [["first"], [], ["second"], [], ["first"], []]
    every_object, _ = await measure_round(
        catalog(world, every=2, targets=targets), settings(world), world.backend(), 3, clock=clock
    )
    assert [r.target for r in every_object if r.throughput is not None] == ["first", "second"]


async def test_round_deadline(world: World, clock):
    world.system_dns.silent.add("platform.test")
    started = time.monotonic()
    targets, anchors = await measure_round(
        catalog(world),
        settings(world, round_deadline_s=0.4, concurrency=1, dns_timeout_s=5.0),
        world.backend(),
        2,
        clock=clock,
    )
    assert time.monotonic() - started < 1.0
    assert [(t.target, t.truncated) for t in targets] == [
        ("platform", True),
        ("nothing", True),
        ("sni-blocked", True),
    ]
    assert targets[0].dns == ()  # cut while asking
    assert targets[1] == type(targets[1])(target="nothing", truncated=True)  # never started
    assert len(anchors) == 2  # quick, done before the deadline


async def test_concurrency_limit(world: World, clock):
    targets = tuple(world.target("platform.test", id=f"p{i}") for i in range(4))
    results, _ = await measure_round(
        catalog(world, targets=targets),
        settings(world, concurrency=1),
        world.backend(),
        2,
        clock=clock,
    )
    spans = [(min(d.t0 for d in r.dns), max(h.t for h in r.http)) for r in results]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # one target at a time


async def test_independent_resolver_from_the_catalog(world: World, clock):
    local = settings(world, independent_resolver=None)
    no_independent, _ = await measure_round(
        catalog(world, targets=(world.target("platform.test"),)),
        local,
        world.backend(),
        2,
        clock=clock,
    )
    assert {d.resolver for d in no_independent[0].dns} == {"system"}
    with_resolver = msgspec.structs.replace(
        catalog(world, targets=(world.target("platform.test"),)),
        resolver=world.settings.independent_resolver,
    )
    targets, _ = await measure_round(with_resolver, local, world.backend(), 2, clock=clock)
    assert {d.resolver for d in targets[0].dns} == {"system", world.settings.independent_resolver}


async def test_check_table(world: World, clock):
    targets, anchors = await measure_round(
        catalog(world), settings(world), world.backend(), 2, clock=clock
    )
    table = render_check(targets, anchors)
    lines = table.splitlines()
    assert lines[0].split() == ["target", "DNS", "TCP", "TLS", "HTTPS", "HTTP", "verdict", "took"]
    platform = next(line for line in lines if line.startswith("platform "))
    assert "127.0.0.1" in platform
    assert platform.split()[-2] == "ok"
    nothing = next(line for line in lines if line.startswith("nothing "))
    assert "DNS dns_nxdomain_error" in nothing
    sni = next(line for line in lines if line.startswith("sni-blocked "))
    assert "connection_reset decoy ok" in sni
    assert "TLS connection_reset" in sni
    assert any(line.startswith("intl ") and "tcp" in line and "ok" in line for line in lines)


async def test_no_throughput_for_an_unreachable_target(world: World, clock):
    url = f"http://platform.test:{world.http_port}/big"
    targets, _ = await measure_round(
        catalog(world, targets=(world.target("nothing.test", throughput_url=url),)),
        settings(world),
        world.backend(),
        1,
        clock=clock,
    )
    assert targets[0].failed_layer == Layer.DNS
    assert targets[0].throughput is None
