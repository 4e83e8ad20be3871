"""Events POSTed to webhooks: generic JSON, Slack-compatible or Matrix-compatible.

aiohttp's exceptions stop here and become collector.errors.
"""

import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import aiohttp
import msgspec

from balise.model.events import Event
from collector import eventtext
from collector.counters import Counters
from collector.errors import RejectedError, UnavailableError
from collector.outputs.outbox import Outbox, Send
from collector.settings import OutputSettings, Webhook, redact_url

RETRYABLE_4XX = frozenset({408, 425, 429})


def body(event: Event, fmt: str) -> bytes:
    """The request body for a webhook of format `fmt`."""
    if fmt == "slack":
        return msgspec.json.encode({"text": eventtext.summary(event)})
    if fmt == "matrix":
        return msgspec.json.encode({"msgtype": "m.text", "body": eventtext.summary(event)})
    return msgspec.json.encode(event)  # generic: the event as on MQTT (balise/v1/events)


class Webhooks:
    """One outbox per webhook, so a dead endpoint holds up no other."""

    def __init__(
        self, webhooks: Sequence[Webhook], counters: Counters, settings: OutputSettings
    ) -> None:
        self._webhooks = tuple(webhooks)
        self._counters = counters
        self._settings = settings
        self._outboxes: list[Outbox] = []
        self._stack = contextlib.AsyncExitStack()

    def put(self, event: Event) -> None:
        for outbox in self._outboxes:
            outbox.put(event)

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            for index, webhook in enumerate(self._webhooks):
                outbox = Outbox(
                    f"webhook{index}",
                    _sender(session, webhook),
                    self._counters,
                    capacity=self._settings.queue,
                    max_attempts=self._settings.max_attempts,
                    backoff_cap_s=self._settings.backoff_cap_s,
                )
                self._outboxes.append(await stack.enter_async_context(outbox))
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
        self._outboxes.clear()


def _sender(session: aiohttp.ClientSession, webhook: Webhook) -> Send:
    where = redact_url(webhook.url)
    timeout = aiohttp.ClientTimeout(total=webhook.timeout_s)
    headers = {"Content-Type": "application/json"}

    async def send(event: Event) -> None:
        try:
            async with session.post(
                webhook.url, data=body(event, webhook.format), headers=headers, timeout=timeout
            ) as response:
                status = response.status
                reason = response.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError(f"POST {where}: {exc!r}") from exc
        if status < 300:  # noqa: PLR2004
            return
        message = f"POST {where}: HTTP {status} {reason}"
        if 400 <= status < 500 and status not in RETRYABLE_4XX:  # noqa: PLR2004
            raise RejectedError(message)
        raise UnavailableError(message)

    return send
