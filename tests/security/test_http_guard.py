"""The collector's HTTP guard on a real aiohttp server: tokens, size and rate limits."""

import aiohttp
import pytest
from aiohttp import web

from collector.counters import Counters
from collector.http import make_app, serve
from collector.settings import HttpSettings


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"bytes": len(await request.read())})


@pytest.fixture
async def guarded(tmp_path):
    (tmp_path / "admin").write_text("admin-secret\n")
    (tmp_path / "read").write_text("read-secret\n")
    settings = HttpSettings(
        listen="127.0.0.1:0",
        admin_token_file=str(tmp_path / "admin"),
        read_token_file=str(tmp_path / "read"),
        max_body_bytes=1024,
        rate_per_s=5,
    )
    app = make_app(Counters(), settings)
    app.router.add_post("/api/admin/echo", echo)
    app.router.add_get("/api/events", echo)
    app.router.add_get("/api/status", echo)
    async with serve(app, "127.0.0.1", 0) as port, aiohttp.ClientSession() as session:
        yield f"http://127.0.0.1:{port}", session


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def test_writes_need_the_admin_token(guarded):
    base, session = guarded
    for headers in ({}, bearer("read-secret"), bearer("admin-secreT")):
        async with session.post(f"{base}/api/admin/echo", data=b"x", headers=headers) as r:
            assert r.status == 401
    async with session.post(
        f"{base}/api/admin/echo", data=b"x", headers=bearer("admin-secret")
    ) as r:
        assert r.status == 200


async def test_reads_need_a_token_but_the_status_stays_public(guarded):
    base, session = guarded
    async with session.get(f"{base}/api/events") as r:
        assert r.status == 401
    async with session.get(f"{base}/api/events", headers=bearer("read-secret")) as r:
        assert r.status == 200
    async with session.get(f"{base}/api/status") as r:
        assert r.status == 200


async def test_oversized_bodies_are_refused(guarded):
    base, session = guarded
    body = b"x" * 4096
    async with session.post(
        f"{base}/api/admin/echo", data=body, headers=bearer("admin-secret")
    ) as r:
        assert r.status == 413


async def test_a_flood_from_one_client_is_slowed(guarded):
    base, session = guarded
    statuses = []
    for _ in range(30):
        async with session.get(f"{base}/api/status") as r:
            statuses.append(r.status)
    assert statuses[:10] == [200] * 10  # the burst
    assert 429 in statuses
