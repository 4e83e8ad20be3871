"""Webhooks POST events to a local aiohttp server: formats, retry after a failure, giving up."""

import asyncio

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from balise.model.events import Event, EventKind, Scope
from collector.counters import Counters
from collector.outputs.webhooks import Webhooks
from collector.settings import OutputSettings, Webhook
from tests.support.services import free_port

EVENT = Event(
    id="e1",
    kind=EventKind.SERVICE_BLOCK,
    state="open",
    scope=Scope(country="IR", asn=197207),
    start=1_750_000_000.0,
    platform="tiktok",
    method="dns",
    affected=3,
    total=4,
    confidence=0.9,
)


class Receiver:
    """Answers each path with the statuses queued for it, then 200; keeps what it got."""

    def __init__(self) -> None:
        self.got: dict[str, list[bytes]] = {}
        self.answers: dict[str, list[int]] = {}
        self.arrived = asyncio.Condition()

    async def hook(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        queued = self.answers.get(name, [])
        status = queued.pop(0) if queued else 200
        async with self.arrived:
            self.got.setdefault(name, []).append(await request.read())
            self.arrived.notify_all()
        return web.Response(status=status)

    async def wait(self, name: str, count: int) -> list[bytes]:
        async with asyncio.timeout(10), self.arrived:
            await self.arrived.wait_for(lambda: len(self.got.get(name, [])) >= count)
        return self.got[name]


@pytest.fixture
async def receiver():
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/{name}", receiver.hook)
    async with TestServer(app, host="127.0.0.1") as server:
        yield receiver, str(server.make_url("/hooks/"))


async def test_each_format_is_posted_and_a_failure_is_retried(receiver):
    receiver, base = receiver
    receiver.answers["generic"] = [500]  # fails once, then succeeds
    hooks = [
        Webhook(url=base + "generic", format="generic"),
        Webhook(url=base + "slack", format="slack"),
        Webhook(url=base + "matrix", format="matrix"),
    ]
    counters = Counters()
    async with Webhooks(hooks, counters, OutputSettings(max_attempts=3)) as webhooks:
        webhooks.put(EVENT)
        generic = await receiver.wait("generic", 2)
        slack = await receiver.wait("slack", 1)
        matrix = await receiver.wait("matrix", 1)
        async with asyncio.timeout(5):
            while counters.delivered.get("webhook0") != 1:
                await asyncio.sleep(0.01)
    assert generic[0] == generic[1]
    assert msgspec.json.decode(generic[1], type=Event) == EVENT
    text = "[OPEN] Service blocked: tiktok (dns) in IR, AS197207 — open since"
    assert msgspec.json.decode(slack[0])["text"].startswith(text)
    body = msgspec.json.decode(matrix[0])
    assert body["msgtype"] == "m.text"
    assert body["body"].startswith(text)
    assert counters.delivery_failures == {"webhook0": 1}
    assert counters.delivered == {"webhook0": 1, "webhook1": 1, "webhook2": 1}


async def test_a_refusal_is_given_up_at_once_and_retries_stop_at_max_attempts(receiver):
    receiver, base = receiver
    receiver.answers["gone"] = [404]
    receiver.answers["down"] = [503, 503]
    counters = Counters()
    hooks = [Webhook(url=base + "gone"), Webhook(url=base + "down")]
    async with Webhooks(hooks, counters, OutputSettings(max_attempts=2)) as webhooks:
        webhooks.put(EVENT)
        await receiver.wait("down", 2)
        async with asyncio.timeout(5):
            while sum(counters.delivery_dropped.values()) < 2:
                await asyncio.sleep(0.01)
    assert len(receiver.got["gone"]) == 1
    assert counters.delivery_dropped == {"webhook0": 1, "webhook1": 1}
    assert counters.delivered == {}


async def test_an_unreachable_webhook_is_logged_without_its_secret_path(caplog):
    url = f"http://127.0.0.1:{free_port()}/hooks/s3cret"
    counters = Counters()
    async with Webhooks([Webhook(url=url)], counters, OutputSettings(max_attempts=1)) as hooks:
        hooks.put(EVENT)
        async with asyncio.timeout(5):
            while not counters.delivery_dropped:
                await asyncio.sleep(0.01)
    assert "s3cret" not in caplog.text
    assert "127.0.0.1" in caplog.text
