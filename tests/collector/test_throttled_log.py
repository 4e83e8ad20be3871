"""A burst of the same warning is one line, and the next says how many were held back."""

import logging
import time

from balise.model.events import Event, EventKind, Scope
from collector.counters import Counters
from collector.outputs.queue import EventQueue
from collector.throttled_log import ThrottledLog

log = logging.getLogger("test.throttled")


def test_a_burst_logs_once_then_counts_what_it_held_back(caplog):
    throttled = ThrottledLog(log, every_s=0.2)
    with caplog.at_level(logging.WARNING, logger=log.name):
        for n in range(1000):
            throttled.warning("bad", f"bad message {n}")
        throttled.warning("other", "another key is logged at once")
        time.sleep(0.25)
        throttled.warning("bad", "bad message again")
    assert [r.getMessage() for r in caplog.records] == [
        "bad message 0",
        "another key is logged at once",
        "bad message again (and 999 more since the last report)",
    ]


def test_a_full_event_queue_drops_the_oldest_and_does_not_flood_the_log(caplog):
    counters = Counters()
    queue = EventQueue("store", counters, capacity=10)
    with caplog.at_level(logging.WARNING, logger="collector.outputs.queue"):
        for n in range(5000):
            queue.put(
                Event(
                    id=f"ev-{n}",
                    kind=EventKind.PROBE_OFFLINE,
                    state="open",
                    scope=Scope(probe=f"p{n}"),
                    start=time.time(),
                )
            )
    assert len(queue) == 10
    assert counters.delivery_dropped == {"store": 4990}
    assert len(caplog.records) == 1
