"""InfluxDB 2.x/3.x store, through influxdb-client's async write API.

No InfluxDB 2 server can be installed here, so a small local aiohttp server
stands in for one: it checks the request the client really sends (path
/api/v2/write, org, bucket, precision, the token header and the exact line
protocol) and answers as InfluxDB 2 does (204, or an error status).
"""

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from collector.errors import RejectedError, UnavailableError
from collector.received import Received
from collector.settings import InfluxV2StoreSettings
from collector.stores.factory import make_store
from collector.stores.influx_v2 import InfluxV2Store
from collector.stores.lineprotocol import lines
from tests.support.rounds import make_round, make_status
from tests.support.services import free_port

T = 1_750_000_000.0
TOKEN = "t0ken"  # noqa: S105 - the fake server checks it


class FakeInfluxV2:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], str | None, str]] = []
        self.answers: list[int] = []  # statuses to answer with first; then 204

    async def write(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append(
            (request.path, dict(request.query), request.headers.get("Authorization"), body)
        )
        status = self.answers.pop(0) if self.answers else 204
        if status == 204:
            return web.Response(status=204)
        return web.json_response({"code": "invalid", "message": "nope"}, status=status)


@pytest.fixture
async def server():
    fake = FakeInfluxV2()
    app = web.Application()
    app.router.add_post("/api/v2/write", fake.write)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield fake, str(test_server.make_url("")).rstrip("/")


@pytest.fixture
async def store(server):
    fake, url = server
    settings = InfluxV2StoreSettings(url=url, org="my org", bucket="balise", token=TOKEN)
    store = InfluxV2Store(settings)
    yield fake, store
    await store.close()


async def test_the_client_sends_our_lines_to_the_bucket_with_the_token(store):
    fake, store = store
    batch = [
        Received(make_round(probe="p1", seq=1, started=T), b"", T),
        Received(make_status("p1", at=T), b"", T),
    ]
    written = await store.write(batch)
    ((path, query, auth, body),) = fake.requests
    assert path == "/api/v2/write"
    assert query == {"org": "my org", "bucket": "balise", "precision": "us"}
    assert auth == "Token t0ken"
    assert body == lines(batch)
    assert written == body.count("\n") + 1


async def test_bad_data_is_rejected_and_a_server_error_is_unavailable(store):
    fake, store = store
    batch = [Received(make_round(started=T), b"", T)]
    fake.answers = [400, 503, 401]
    with pytest.raises(RejectedError, match="HTTP 400"):
        await store.write(batch)
    with pytest.raises(UnavailableError, match="HTTP 503"):
        await store.write(batch)
    with pytest.raises(UnavailableError, match="HTTP 401"):  # fix the token: the data waits
        await store.write(batch)


async def test_a_closed_port_is_unavailable():
    url = f"http://127.0.0.1:{free_port()}"
    store = InfluxV2Store(InfluxV2StoreSettings(url=url, org="o", bucket="b", token=TOKEN))
    with pytest.raises(UnavailableError):
        await store.write([Received(make_round(started=T), b"", T)])
    await store.close()


def test_a_token_is_required():
    with pytest.raises(ValueError, match="token"):
        InfluxV2StoreSettings(org="o", bucket="b")


def test_the_settings_kind_selects_this_store(tmp_path):
    settings = InfluxV2StoreSettings(org="o", bucket="b", token=TOKEN)
    assert isinstance(make_store(settings, state_dir=tmp_path), InfluxV2Store)
