"""Known signs of a censor's block page, from OONI's fingerprints and field reports.

A redirect to a block-page host is looked for on every hop; phrases only in bodies
that came over plain HTTP, where a censor can inject them: a page received over
verified TLS is the platform's own, whatever words it contains.
"""

import html
import re
from urllib.parse import urlsplit

# Host names (or parts of them) that censors redirect blocked requests to.
BLOCKPAGE_HOSTS: tuple[str, ...] = (
    "lamanlabuh.aduankonten.id",  # Indonesia, Kominfo
    "internet-positif",  # Indonesia, ISP block pages
    "internetpositif",
    "peyvandha.ir",  # Iran
    "warning.rt.ru",  # Russia, Rostelecom
    "blocked.netbynet.ru",
    "block.khm.gov.kh",
)

# Lower-case phrases of block pages.
BLOCKPAGE_PHRASES: tuple[str, ...] = (
    "access to this site has been",
    "this site has been blocked",
    "this website has been blocked",
    "this website is not accessible",
    "blocked by",
    "internet positif",
    "aduankonten",
    "peyvandha",
)

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
