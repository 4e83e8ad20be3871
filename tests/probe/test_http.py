import pytest
from aiohttp import web as aioweb

from probe.measurements import http, throughput
from tests.support.local_http import BIG_BYTES, LocalWeb, make_app
from tests.support.local_tls import Pki, refused_port


def http_config(clock, url, address="127.0.0.1", timeout=3.0, max_body=262_144):
    return http.Config(
        clock=clock, url=url, address=address, timeout=timeout, max_body_bytes=max_body
    )


@pytest.fixture
async def web():
    async with LocalWeb(make_app()) as server:
        yield server


@pytest.fixture
async def secure_web(pki: Pki):
    context = pki.server_context("platform.test", "other.test")
    async with LocalWeb(make_app(), context=context) as server:
        yield server


async def test_https_get(clock, backend, secure_web):
    url = f"https://platform.test:{secure_web.port}/"
    result = await http.run(http_config(clock, url), backend)
    assert result.failure is None
    assert (result.status, result.title, result.redirects) == (200, "The Platform", ())
    assert result.body_length == len(
        b"<html><head><title>The Platform</title></head><body>hello</body></html>"
    )
    assert result.blockpage is None


def logging_app(log):
    """The test platform, logging each request's method and path."""

    @aioweb.middleware
    async def record(request, handler):
        log.append((request.method, request.path))
        return await handler(request)

    app = make_app()
    app.middlewares.append(record)
    return app


def moving_app(location):
    """Plain HTTP as the platforms serve it: a 301 to `location` for every request."""

    async def moved(_request):
        raise aioweb.HTTPMovedPermanently(location)

    app = aioweb.Application()
    app.router.add_get("/", moved)
    return app


async def test_https_head_reads_status_and_headers_only(clock, backend, pki: Pki):
    log = []
    context = pki.server_context("platform.test")
    async with LocalWeb(logging_app(log), context=context) as server:
        url = f"https://platform.test:{server.port}/big"
        result = await http.run(
            http.Config(clock=clock, url=url, address="127.0.0.1", timeout=3.0, method="HEAD"),
            backend,
        )
    assert log == [("HEAD", "/big")]
    assert (result.failure, result.status, result.body_length, result.title) == (
        None,
        200,
        None,
        None,
    )


async def test_plain_http_moved_to_https_on_the_same_host_is_not_followed(clock, backend, pki: Pki):
    log = []
    context = pki.server_context("platform.test")
    async with LocalWeb(logging_app(log), context=context) as secure:
        location = f"https://platform.test:{secure.port}/"
        async with LocalWeb(moving_app(location)) as plain:
            url = f"http://platform.test:{plain.port}/"
            result = await http.run(http_config(clock, url), backend)
    assert (result.failure, result.status, result.blockpage) == (None, 301, None)
    assert result.redirects == (location,)  # recorded: the platform's answer to plain HTTP
    assert log == []  # and not fetched


async def test_plain_http_moved_to_another_host_is_followed(clock, backend, pki: Pki):
    log = []
    context = pki.server_context("platform.test")
    async with LocalWeb(logging_app(log), context=context) as secure:
        location = f"https://platform.test:{secure.port}/"
        async with LocalWeb(moving_app(location)) as plain:
            url = f"http://v4only.test:{plain.port}/"
            result = await http.run(http_config(clock, url), backend)
    assert (result.failure, result.status, result.title) == (None, 200, "The Platform")
    assert result.redirects == (location,)
    assert log == [("GET", "/")]


async def test_the_body_read_is_capped_at_16_kib_by_default(clock, backend, web):
    config = http.Config(
        clock=clock, url=f"http://platform.test:{web.port}/big", address="127.0.0.1", timeout=3.0
    )
    result = await http.run(config, backend)
    assert (result.failure, result.body_length) == (None, 16_384)


async def test_https_pinned_address_with_wrong_certificate(clock, backend, pki: Pki):
    context = pki.server_context("other.test")
    async with LocalWeb(make_app(), context=context) as server:
        result = await http.run(
            http_config(clock, f"https://platform.test:{server.port}/"), backend
        )
    assert result.failure == "ssl_invalid_hostname"
    assert result.status is None


async def test_redirects_are_recorded(clock, backend, secure_web):
    url = f"https://platform.test:{secure_web.port}/hop"
    result = await http.run(http_config(clock, url), backend)
    assert result.failure is None
    assert result.status == 200
    assert result.redirects == (
        f"https://platform.test:{secure_web.port}/hop?n=1",
        f"https://platform.test:{secure_web.port}/hop?n=2",
    )


async def test_too_many_redirects(clock, backend, secure_web):
    config = http.Config(
        clock=clock,
        url=f"https://platform.test:{secure_web.port}/hop",
        address="127.0.0.1",
        timeout=3.0,
        max_redirects=1,
    )
    result = await http.run(config, backend)
    assert result.failure == "http_request_failed"
    assert len(result.redirects) == 2


async def test_block_page_body_over_plain_http(clock, backend, web):
    result = await http.run(http_config(clock, f"http://blockpage.test:{web.port}/"), backend)
    assert result.failure is None  # the request worked; the chain judges the page
    assert result.blockpage == "body:access to this site has been"
    assert result.title == "Internet Positif"


async def test_redirect_to_a_block_page_host_is_not_followed(clock, backend, web):
    result = await http.run(http_config(clock, f"http://redirect.test:{web.port}/"), backend)
    assert result.failure is None
    assert result.status == 302
    assert result.redirects == ("http://lamanlabuh.aduankonten.id/",)
    assert result.blockpage == "host:lamanlabuh.aduankonten.id"


async def test_platform_page_is_no_block_page(clock, backend, web):
    result = await http.run(http_config(clock, f"http://platform.test:{web.port}/"), backend)
    assert (result.failure, result.status, result.blockpage) == (None, 200, None)


async def test_body_read_is_capped(clock, backend, web):
    result = await http.run(
        http_config(clock, f"http://platform.test:{web.port}/big", max_body=10_000), backend
    )
    assert result.failure is None
    assert result.body_length == 10_000


async def test_later_hosts_are_looked_up(clock, backend, system_dns, web):
    result = await http.run(
        http_config(clock, f"http://platform.test:{web.port}/", address=None), backend
    )
    assert result.status == 200
    assert "platform.test" in system_dns.queries
    missing = await http.run(
        http_config(clock, f"http://nothing.test:{web.port}/", address=None), backend
    )
    assert missing.failure == "dns_nxdomain_error"


async def test_refused(clock, backend):
    result = await http.run(http_config(clock, f"http://platform.test:{refused_port()}/"), backend)
    assert result.failure == "connection_refused"


async def test_truncated_body_is_eof(clock, backend, web):
    result = await http.run(http_config(clock, f"http://platform.test:{web.port}/cut"), backend)
    assert result.failure == "eof_error"


async def test_slow_body_times_out(clock, backend, web):
    result = await http.run(
        http_config(clock, f"http://platform.test:{web.port}/slow", timeout=0.4), backend
    )
    assert result.failure == "generic_timeout_error"


def test_bad_url_is_a_config_error(clock):
    with pytest.raises(ValueError, match="not an http"):
        http_config(clock, "ftp://platform.test/")


def tp_config(clock, url, max_bytes=10_000_000, max_seconds=5.0):
    return throughput.Config(
        clock=clock, url=url, timeout=2.0, max_bytes=max_bytes, max_seconds=max_seconds
    )


async def test_throughput_download(clock, backend, web):
    result = await throughput.run(tp_config(clock, f"http://platform.test:{web.port}/big"), backend)
    assert result.failure is None
    assert result.bytes == BIG_BYTES
    assert result.kbps is not None
    assert result.kbps > 100


async def test_throughput_stops_at_the_byte_cap(clock, backend, web):
    url = f"http://platform.test:{web.port}/big"
    result = await throughput.run(tp_config(clock, url, max_bytes=100_000), backend)
    assert result.failure is None
    assert 100_000 <= result.bytes < BIG_BYTES


async def test_throughput_stops_at_the_time_cap_and_reports_the_rate(clock, backend, web):
    url = f"http://platform.test:{web.port}/slow"
    result = await throughput.run(tp_config(clock, url, max_seconds=0.5), backend)
    assert result.failure is None
    assert 0 < result.bytes < 50_000  # about 1000 bytes every 50 ms
    assert result.kbps is not None
    assert 40 < result.kbps < 400
    assert result.t - result.t0 < 1.5


async def test_throughput_error_status(clock, backend, web):
    result = await throughput.run(
        tp_config(clock, f"http://platform.test:{web.port}/none"), backend
    )
    assert result.failure == "http_request_failed"
    assert result.kbps is None
