"""How InfluxDB's HTTP status codes map onto retry or give up, for both API versions."""

from typing import Final

from collector.errors import RejectedError, UnavailableError

# The data itself is wrong (unparsable, type conflict, too large): retrying the same
# batch cannot help, splitting it can. Everything else (auth, 404, 5xx) is the
# server's or the operator's to fix: the batch waits and is retried.
BAD_DATA: Final = frozenset({400, 413, 422})
BODY_CHARS: Final = 300


def raise_for_status(status: int, body: str, *, what: str) -> None:
    if 200 <= status < 300:  # noqa: PLR2004
        return
    message = f"{what}: HTTP {status}: {body.strip()[:BODY_CHARS]}"
    if status in BAD_DATA:
        raise RejectedError(message)
    raise UnavailableError(message)
