"""Known signs of a censor's block page, from OONI's fingerprints and field reports.

A redirect to a block-page host is looked for on every hop; phrases only in bodies
that came over plain HTTP, where a censor can inject them: a page received over
verified TLS is the platform's own, whatever words it contains.
"""

import html
import re
from urllib.parse import urlsplit

from balise.model.blockpages import BLOCKPAGE_HOSTS, BLOCKPAGE_PHRASES

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TITLE_MAX = 120


def match_url(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").lower()
    for marker in BLOCKPAGE_HOSTS:
        if marker in host:
            return f"host:{marker}"
    return None


def match_body(body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace").lower()
    for phrase in BLOCKPAGE_PHRASES:
        if phrase in text:
            return f"body:{phrase}"
    return None


def title(body: bytes) -> str | None:
    found = _TITLE.search(body)
    if found is None:
        return None
    text = html.unescape(found.group(1).decode("utf-8", errors="replace"))
    return " ".join(text.split())[:_TITLE_MAX] or None
