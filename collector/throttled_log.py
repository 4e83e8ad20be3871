"""Warnings that cannot flood the log: a burst of the same trouble logs once in a while.

A collector under a storm (a malformed publisher, a full event queue) must not spend
its time writing the same line thousands of times a second.
"""

import logging
import time

EVERY_S = 10.0  # at most one line per key this often


class ThrottledLog:
    def __init__(self, logger: logging.Logger, *, every_s: float = EVERY_S) -> None:
        self._logger = logger
        self._every_s = every_s
        self._last: dict[str, float] = {}  # key → monotonic time of its last line
        self._held: dict[str, int] = {}  # key → lines held back since

    def warning(self, key: str, message: str, *, exc_info: bool = False) -> None:
        """Log `message` unless `key` was logged less than `every_s` ago; the next line
        says how many were held back."""
        now = time.monotonic()
        if now - self._last.get(key, -self._every_s) < self._every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        more = self._held.pop(key, 0)
        suffix = f" (and {more} more since the last report)" if more else ""
        self._logger.warning("%s%s", message, suffix, exc_info=exc_info)
