"""Forgetting published items that their feeds stopped listing long ago.

The poller remembers every item it published (id and content hash), so that a restart, or an item a feed
keeps listing for years, publishes nothing twice. Without an end that table grows by every item of every
feed. An item is forgotten once its feed has gone ``age`` without listing it, counted back from the
feed's own last listing, not from now: a feed that fails, or does not change, for months keeps its items,
which its next good body may list again.

Runs in a thread (one short transaction per batch), hourly from an hour after start; several pollers
may run it at once.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import structlog

from services.poller import metrics
from services.poller.state import PollerStore

log = structlog.get_logger(__name__)

BATCH_ROWS = 500
EVERY_SECONDS = 3600.0


def forget_unlisted_items(store: PollerStore, age: timedelta, stop: threading.Event | None = None) -> int:
    """One pass over every feed with state; returns the items forgotten."""
    stopping = stop.is_set if stop is not None else (lambda: False)
    total = 0
    for feed_id in store.feed_ids():
        if stopping():
            break
        forgotten = store.forget_unlisted(feed_id, age, BATCH_ROWS, stopping)
        metrics.SEEN_ITEMS_FORGOTTEN.inc(forgotten)
        total += forgotten
    return total


async def forget_forever(store: PollerStore, age: timedelta, every: float = EVERY_SECONDS) -> None:
    stop = threading.Event()  # a pass in its thread outlives the task's cancellation: end it between batches
    try:
        while True:
            # The first pass waits a whole interval: a start-up already has the first round of polls to make.
            await asyncio.sleep(every)
            try:
                forgotten = await asyncio.to_thread(forget_unlisted_items, store, age, stop)
            except Exception as error:  # the database is away, or a bug: the next pass tries again
                log.warning("seen_items_forget_failed", error=str(error)[:300], error_type=type(error).__name__)
            else:
                if forgotten:
                    log.info("seen_items_forgotten", items=forgotten)
    finally:
        stop.set()
