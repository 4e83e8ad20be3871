"""The status page in a real headless Chromium, against the collector's HTTP application
over a simulated store: it shows the current events, draws its timeline, switches to
French by mouse and back by keyboard, and asks nothing of any host but the collector."""

import os
from pathlib import Path

import pytest

from tests.support.chromium import Chromium, chromium_path

BINARY = chromium_path()
pytestmark = pytest.mark.skipif(BINARY is None, reason="chromium is not installed")


async def test_status_page_in_a_browser(page_server, tmp_path):
    assert BINARY is not None
    async with Chromium(BINARY) as browser:
        await browser.goto(page_server.url + "/")
        await browser.wait_for("document.querySelectorAll('#current li').length > 0")
        current = await browser.evaluate("document.getElementById('current').innerText")
        assert "Service blocked — signal — IP blocking — IR" in current
        assert "Service blocked — tiktok — DNS tampering — NC, mobile" in current
        bars = await browser.evaluate("document.querySelectorAll('#chart svg rect.bar').length")
        assert bars == 7
        label = await browser.evaluate(
            "document.querySelector('#chart svg rect.bar').getAttribute('aria-label')"
        )
        assert "UTC" in label
        countries = await browser.evaluate("document.getElementById('countries').innerText")
        assert "MM" in countries
        assert "normal" in countries
        assert await browser.evaluate("document.documentElement.lang") == "en"
        ooni = await browser.evaluate(
            "document.getElementById('ooni-section').hidden ? null"
            " : document.getElementById('ooni').innerText"
        )
        if page_server.ooni_imported:  # the shared samples are there: they are shown
            assert "IR\tAS197207\tfacebook\tblocking" in ooni
            assert "AM\tAS44395\tsignal\tknown probe bug" in ooni
        shot = await browser.screenshot()
        if keep := os.environ.get("BALISE_SCREENSHOT"):  # to look at the page by eye
            Path(keep).write_bytes(shot)  # noqa: ASYNC240 - a debugging aid
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"

        await browser.click("#lang")
        await browser.wait_for("document.documentElement.lang === 'fr'")
        current = await browser.evaluate("document.getElementById('current').innerText")
        assert "Service bloqué — signal — blocage d'adresse IP — IR" in current
        heading = await browser.evaluate("document.getElementById('current-h').innerText")
        assert heading == "Événements en cours"
        button = await browser.evaluate(
            "document.getElementById('lang').getAttribute('aria-label')"
        )
        assert button == "Switch to English"

        await browser.press_enter_on("#lang")
        await browser.wait_for("document.documentElement.lang === 'en'")

    assert browser.requests
    outside = [u for u in browser.requests if not u.startswith(page_server.url)]
    assert outside == []
