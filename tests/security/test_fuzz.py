"""Every parser exposed to the network survives random and mutated input.

`BALISE_FUZZ_EXAMPLES` sets the number of inputs per parser (CI: 3,000 each;
`make fuzz` runs 100,000). A parser may refuse an input, with its own error
type; anything else (a crash, another exception) fails the test.
"""

import os
import time
import tracemalloc

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balise import signing, wire
from balise.config import ConfigError, decode_toml
from balise.lab.scenario import ScenarioError, parse
from balise.model.catalog import Catalog
from collector.counters import Counters
from collector.fleet import Keyring
from collector.ingest import Ingest
from collector.stores.batching import BatchWriter
from tests.support.rounds import make_round

EXAMPLES = int(os.environ.get("BALISE_FUZZ_EXAMPLES", "3000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

VALID_ROUND = wire.encode(make_round(probe="fz-1", seq=1))
SCENARIO = b"""
format = 1
name = "fuzz"
round_s = 10
duration_s = 100
[[network]]
name = "isp"
asn = 64500
country = "NC"
[[probe]]
id = "p1"
network = "isp"
[[action]]
kind = "block_sni"
mode = "reset"
platforms = ["tiktok"]
at_s = 10
[[expect]]
kind = "service_block"
platform = "tiktok"
method = "tls"
start_s = 10
"""
CATALOG = b'targets = [{id = "tiktok", domain = "www.tiktok.com"}]\n'


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few bytes flipped, inserted, deleted or a slice repeated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(("flip", "insert", "delete", "repeat")))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and data:
            del data[i : i + draw(st.integers(1, 16))]
        elif op == "repeat":
            data[i:i] = data[i : i + draw(st.integers(1, 64))] * draw(st.integers(1, 50))
    return bytes(data)


def payloads(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2048), mutated(seed))


class _NullStore:
    async def write(self, _batch: object) -> int:
        return 0

    async def write_events(self, _events: object) -> None:
        return None

    async def close(self) -> None:
        return None


COUNTERS = Counters()
INGEST = Ingest(
    writer=BatchWriter(_NullStore(), COUNTERS, capacity=10**9),  # type: ignore[arg-type]
    observers=[],
    counters=COUNTERS,
)


@FUZZ
@given(
    payloads(VALID_ROUND),
    st.sampled_from(["round", "status", "heartbeat", "ack", "other"]),
    st.sampled_from(["fz-1", "fz-2", "BAD ID"]),
)
def test_ingest_never_raises_and_counts_everything(payload, channel, probe):
    before = COUNTERS.received
    INGEST.handle(f"balise/v1/probe/{probe}/{channel}", payload, time.time())
    assert COUNTERS.received == before + 1


@FUZZ
@given(payloads(VALID_ROUND))
def test_round_decoder_raises_only_wire_errors(payload):
    try:
        wire.decode_round(payload, "fz-1")
    except wire.WireError as exc:
        assert exc.reason in {"malformed", "unknown_version", "topic_mismatch", "oversized"}  # noqa: PT017 - an input may parse


@FUZZ
@given(payloads(signing.sign(VALID_ROUND, signing.PrivateKey.generate())))
def test_signature_check_never_raises(payload):
    keyring = _KEYRING
    assert keyring.check("fz-1", payload) in {None, "bad_signature"}


@FUZZ
@given(payloads(SCENARIO))
def test_scenario_parser_raises_only_scenario_errors(raw):
    try:
        parse(raw, source="fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: ")  # noqa: PT017 - an input may parse


@FUZZ
@given(payloads(CATALOG))
def test_catalog_parser_raises_only_config_errors(raw):
    try:
        decode_toml(raw, Catalog, source="catalog.toml")
    except ConfigError as exc:
        assert str(exc).startswith("catalog.toml: ")  # noqa: PT017 - an input may parse


@FUZZ
@given(payloads(msgspec.json.encode(Catalog(targets=()))))
def test_catalog_over_mqtt_decodes_or_refuses(raw):
    try:
        wire.decode_catalog(raw)
    except wire.WireError as exc:
        assert exc.reason in {"malformed", "oversized"}  # noqa: PT017 - an input may parse


class _OneKey(Keyring):
    def __init__(self) -> None:  # no registry file: one key, built in memory
        self._keys = {"fz-1": signing.PrivateKey.generate().verify_key}
        self._revoked = frozenset()


_KEYRING = _OneKey()


def test_hostile_payloads_stay_within_bounded_memory():
    """Deep nesting and huge strings at the size limit cost a bounded amount to refuse."""
    hostile = [
        b"[" * (wire.MAX_PAYLOAD - 1),
        b'{"v":1,"probe":"fz-1","seq":1,"x":"' + b"a" * (wire.MAX_PAYLOAD - 40) + b'"}',
        b'{"v":1,"targets":[' + b'{"target":"x"},' * 15000 + b'{"target":"x"}]}',
        b"9" * (wire.MAX_PAYLOAD + 1),
    ]
    tracemalloc.start()
    try:
        for payload in hostile:
            INGEST.handle("balise/v1/probe/fz-1/round", payload, time.time())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024
