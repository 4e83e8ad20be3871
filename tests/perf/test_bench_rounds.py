"""The bench fleet's rounds are shaped as probes make them: what the collector decodes,
stores and detects on costs what it would in the field."""

from balise.bench.fleet import RoundMaker
from balise.model.layers import Layer

ROUND_DEADLINE_S = 60.0


def steps(round_):
    for target in round_.targets:
        yield from (*target.dns, *target.tcp, *target.tls, *target.http)
        if target.throughput is not None:
            yield target.throughput


def test_times_are_round_clock_readings():
    """Seconds from the round's start to a tenth of a millisecond, as RoundClock.now."""
    maker = RoundMaker(11)
    for seq in range(1, 30):
        for step in steps(maker.make(seq % 5, seq)):
            for t in (step.t0, step.t):
                assert 0.0 <= t < ROUND_DEADLINE_S
                assert round(t, 4) == t
            assert step.t >= step.t0


def test_https_is_a_head_and_plain_http_the_platforms_redirect():
    maker = RoundMaker(11)
    for seq in range(1, 30):
        for target in maker.make(seq % 5, seq).targets:
            if target.failed_layer is not None and target.failed_layer != Layer.HTTP:
                continue
            https, plain = target.http
            assert https.url.startswith("https://")
            assert (https.body_length, https.title) == (None, None)
            assert plain.status == 301
            assert plain.redirects == (https.url,)
