"""Forgetting published items that their feeds stopped listing long ago.

The poller remembers every item it published (id and content hash), so that a restart, or an item a feed
keeps listing for years, publishes nothing twice. Without an end that table grows by every item of every
feed. An item is forgotten once its feed has gone ``age`` without listing it, counted back from the
feed's own last listing, not from now: a feed that fails, or does not change, for months keeps its items,
which its next good body may list again.

Runs in a thread (one short transaction per batch), hourly; several pollers may run it at once. The end
of each complete pass is stored, and a starting poller schedules its first pass from it (a few minutes
after start when one is due), so pollers restarted more often than hourly still forget.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from services.poller import metrics
from services.poller.state import PollerStore

log = structlog.get_logger(__name__)

BATCH_ROWS = 500
EVERY_SECONDS = 3600.0
# A start-up has its first round of polls to make before a due pass joins in.
SETTLE_SECONDS = 300.0


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
    if not stopping():  # the record of files set aside is kept as long
        store.forget_failed_files(datetime.now(UTC) - age)
    return total


def first_pass_delay(last_pass: datetime | None, now: datetime, every: float, settle: float) -> float:
    """Seconds from start to the first pass: when an interval has gone by since the last pass ended
    (before this start, or by another poller), but not before start-up has settled."""
    if last_pass is None:
        return settle
    return max(settle, every - (now - last_pass).total_seconds())


async def forget_forever(store: PollerStore, age: timedelta, every: float = EVERY_SECONDS,
                         settle: float = SETTLE_SECONDS,
                         clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    stop = threading.Event()  # a pass in its thread outlives the task's cancellation: end it between batches
    try:
        delay = await _first_delay(store, every, settle, clock)
        while True:
            await asyncio.sleep(delay)
            delay = every
            try:
                forgotten = await asyncio.to_thread(forget_unlisted_items, store, age, stop)
                await asyncio.to_thread(store.record_forgetting_pass, clock())  # not reached if cancelled
            except Exception as error:  # the database is away, or a bug: the next pass tries again
                log.warning("seen_items_forget_failed", error=str(error)[:300], error_type=type(error).__name__)
            else:
                if forgotten:
                    log.info("seen_items_forgotten", items=forgotten)
    finally:
        stop.set()


async def _first_delay(store: PollerStore, every: float, settle: float, clock: Callable[[], datetime]) -> float:
    try:
        last_pass = await asyncio.to_thread(store.last_forgetting_pass)
    except Exception as error:  # the database is away at start: pass after a whole interval
        log.warning("seen_items_last_pass_unknown", error=str(error)[:300], error_type=type(error).__name__)
        return every
    return first_pass_delay(last_pass, clock(), every, settle)
