"""The poller's loop: claim the feeds that are due, poll them, give them back; renew leases meanwhile.

Every poll runs under a lease (``leases.py``), so pollers sharing a state database split the feed set
and never poll one feed at the same time; this poller's view of when a feed is due is only a hint of
when to try a claim, the database decides. A WebSub push takes a lease too, so it cannot race a poll
of the same feed in another poller.

A finished poll's state and its lease's release are written behind it, together, once per turn of the
loop (``PendingWrites``).

Stopping (SIGTERM) starts no more polls and gives those in hand a bounded grace to end; the rest are
cancelled (``--once`` too), their leases given back and their states left as they were, so whichever poller claims them
next polls them again. A supervisor's patience is finite (``wirefeed run`` 30 s, Compose 45 s before
SIGKILL), and a feed server dripping a byte every few seconds would otherwise hold the poller for its
whole fetch timeout, and then be SIGKILLed with the finished polls' states unwritten.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from services.core.db import TRANSIENT_ERRORS
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig
from services.poller.leases import EPOCH, LeaseStore
from services.poller.service import FeedSetChange, Poller, PollOutcome
from services.poller.settings import SHUTDOWN_GRACE_SECONDS
from services.poller.state import FeedState, PollerStore

log = structlog.get_logger(__name__)

IDLE_SECONDS = 0.5
# Due feeds are gathered at most this often: batches claims, and 50 ms is nothing next to an interval.
TICK_SECONDS = 0.05
# Each poller tries a due feed after a random delay of up to this (or a tenth of the feed's interval), so
# the first to try is a different poller each time: without it the poller that polled a feed last would
# always be first to claim it again, and one poller would end up holding every feed.
CLAIM_SPREAD_SECONDS = 1.0
# After the state database failed to answer, due feeds are tried again this much later.
RECHECK_SECONDS = 1.0


class PendingWrites:
    """Finished polls' states and lease releases, written in one transaction per turn of the loop.

    Written per poll, on the event loop, the two transactions (save the state, give the lease back) held
    the loop about 40% of the time with 10,000 feeds in PostgreSQL, and polls fell behind schedule. In one
    transaction each feed's state is written before its lease is given back, so whoever claims it next
    reads its latest state. A crash loses at most one turn's states: those feeds are claimed again when
    their leases expire and polled with older validators; their items were marked published as they were
    published (not here), so none is published again.
    """

    def __init__(self, store: PollerStore, leases: LeaseStore) -> None:
        self.store = store
        self.leases = leases
        self._states: dict[str, FeedState] = {}
        self._releases: dict[str, None] = {}

    def save(self, state: FeedState) -> None:
        self._states[state.feed_id] = state  # a later state of the same feed supersedes

    def release(self, feed_id: str) -> None:
        self._releases[feed_id] = None

    def flush(self, now: datetime) -> None:
        """Write what is pending; on failure it stays pending, to be written by the next flush."""
        if not (self._states or self._releases):
            return
        with self.leases.db.transaction() as tx:
            self.store.save_feed_states_in(tx, list(self._states.values()))
            self.leases.release_in(tx, list(self._releases), now)
        self._states.clear()
        self._releases.clear()


class PollLoop:
    def __init__(self, poller: Poller, leases: LeaseStore, *, clock: Callable[[], datetime] | None = None,
                 rng: random.Random | None = None, shutdown_grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.poller = poller
        self.leases = leases
        self.shutdown_grace = shutdown_grace
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.renew_every = leases.ttl.total_seconds() / 3
        # When to try each feed next, and the same as a heap (stale entries skipped), so each turn of the
        # loop costs O(due feeds), not O(all feeds): 10,000 feeds are scanned otherwise 20 times a second.
        self._next_try: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._in_flight: dict[str, asyncio.Task[PollOutcome]] = {}
        self._writes = PendingWrites(poller.store, leases)
        poller.save_state = self._writes.save
        #: Feeds whose poll a stop cut short (cancelled, or never started): polled again by the next run.
        self.unfinished: list[str] = []

    async def run(self, stop: StopSignal, *, once: bool = False) -> list[PollOutcome]:
        """Poll due feeds until stopped; with ``once``, poll every feed one time and return."""
        self.poller.load_states()
        self.leases.ensure(list(self.poller.feeds))
        for fid in self.poller.feeds:
            self._finished(fid, EPOCH)
        renewer = asyncio.create_task(self._renew_forever())
        try:
            if once:
                return await self._once(stop)
            while not stop.is_set():
                self._reap()
                self._start_due()
                await asyncio.sleep(self._idle_seconds())
            await self._end_polls_in_hand(stop)
            self._flush(last=True)
            return []
        finally:
            renewer.cancel()

    async def _end_polls_in_hand(self, stop: StopSignal) -> None:
        """Start no more polls, let those in hand finish within the grace, counted from the stop request
        (their items acknowledged, their states saved), then cancel the rest. A poll still waiting for its
        turn under the concurrency limits is cancelled at once. A cancelled poll saves no state and gives
        its lease back (``_poll_leased``), so the feed is due at once for the next poller, from its last
        saved state. Items it had handed to the producer but not marked published are published again by
        that poll (the normalizer drops the repeats); those it had marked were acknowledged first
        (``Poller._publish_items``): none is lost."""
        waiting = self._cancel_where(lambda fid: not self.poller.in_progress(fid))
        if waiting:
            log.warning("polls_not_started", feeds=waiting)
        running = [task for task in self._in_flight.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=stop.seconds_left(self.shutdown_grace))
        late = self._cancel_where(lambda _: True)
        if late:
            log.warning("polls_cancelled", feeds=late, grace_seconds=self.shutdown_grace)
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        self.unfinished = sorted(waiting + late)

    def _cancel_where(self, selected: Callable[[str], bool]) -> list[str]:
        """Cancel the unfinished polls of the feeds ``selected``; their ids, sorted."""
        chosen = sorted(fid for fid, task in self._in_flight.items() if not task.done() and selected(fid))
        for fid in chosen:
            self._in_flight[fid].cancel()
        return chosen

    def apply_feeds(self, feeds: list[FeedConfig]) -> FeedSetChange:
        """Poll a new feed set: an added or changed feed is polled at once (a changed one may be backing off
        from the very failure the change fixes; one being polled right now uses its new settings from its
        next poll), a removed one is dropped once its poll in hand, if any, ends."""
        change = self.poller.feed_changes(feeds)
        now = self.clock()
        due = change.added + change.changed
        # The database first: if it fails, nothing has changed yet, and the next check tries it all again.
        self._writes.flush(now)  # before states are read again
        self.leases.ensure(change.added)
        self.leases.make_due(due, now)
        self.poller.replace_feeds(feeds)
        self.poller.load_states(due)  # a changed URL starts over, as at start-up
        for fid in due:
            self._schedule(fid, now)
        for fid in change.removed:
            self._next_try.pop(fid, None)  # its heap entries are skipped as superseded
        return change

    async def push(self, feed_id: str, body: bytes, content_type: str | None) -> PollOutcome:
        """Publish what a WebSub hub pushed, holding the feed's lease while doing so."""
        feed = self.poller.feeds.get(feed_id)
        if feed is None:  # removed from the feeds file since the hub was told
            return PollOutcome(feed_id, "unknown_subscription")
        running = self._in_flight.get(feed_id)
        if running is not None and not running.done():  # our own poll holds the lease; the feed lock orders us
            return await self.poller.push(feed, body, content_type)
        task = asyncio.create_task(self._push_leased(feed_id, body, content_type))
        self._in_flight[feed_id] = task
        return await task

    async def _push_leased(self, feed_id: str, body: bytes, content_type: str | None) -> PollOutcome:
        deadline = time.monotonic() + self.leases.ttl.total_seconds()
        self._writes.flush(self.clock())  # this feed's release, if pending, must not end the claim below
        while not self.leases.claim_now(feed_id, self.clock()):  # another poller is polling it right now
            if time.monotonic() > deadline:
                return PollOutcome(feed_id, "busy")
            await asyncio.sleep(0.2)
        try:
            feed = self.poller.feeds.get(feed_id)
            if feed is None:
                return PollOutcome(feed_id, "unknown_subscription")
            self.poller.load_states([feed_id])
            return await self.poller.push(feed, body, content_type)
        finally:
            self._writes.release(feed_id)
            self._finished(feed_id, self.clock())
            self._flush(last=False)  # at once: a push may come after the loop's last flush

    async def _once(self, stop: StopSignal) -> list[PollOutcome]:
        """Poll every feed this poller can claim, once; a stop ends it as it ends the loop (the grace)."""
        now = self.clock()
        mine = [fid for fid in self.poller.feeds if self.leases.claim_now(fid, now)]
        for fid in set(self.poller.feeds) - set(mine):
            log.info("feed_held_elsewhere", feed=fid)
        self.poller.load_states(mine)
        for fid in mine:
            self._in_flight[fid] = asyncio.create_task(self._poll_leased(fid))
        try:
            await self._until_done_or_stopped(stop)
            await self._end_polls_in_hand(stop)
            return [task.result() for task in self._in_flight.values() if not task.cancelled()]
        finally:
            self._flush(last=True)

    async def _until_done_or_stopped(self, stop: StopSignal) -> None:
        running = [task for task in self._in_flight.values() if not task.done()]
        while running and not stop.is_set():  # the signal is a threading event: looked at every turn
            _, pending = await asyncio.wait(running, timeout=IDLE_SECONDS)
            running = list(pending)

    def _start_due(self) -> None:
        now = self.clock()
        # Every turn, and before claiming: a feed claimed again must not have its release written after.
        if not self._flush(last=False):
            self._defer(self._take_due(now), now + timedelta(seconds=RECHECK_SECONDS))
            return
        due = self._take_due(now)
        if not due:
            return
        try:
            claimed = self.leases.claim_due(due, now)
            self.poller.load_states(due)  # claimed: the latest validators; others: their latest schedule
            others = self.leases.expiries([fid for fid in due if fid not in claimed])
        except TRANSIENT_ERRORS as error:
            log.warning("state_db_unavailable", error=str(error)[:300])
            self._defer(due, now + timedelta(seconds=RECHECK_SECONDS))
            return
        for fid in claimed:
            self._in_flight[fid] = asyncio.create_task(self._poll_leased(fid))
        for fid in due:
            if fid not in claimed:  # held by another poller, or polled by one since: try when it could be ours
                when = max(others.get(fid, now), now + timedelta(seconds=TICK_SECONDS))
                self._schedule(fid, when + self._spread(fid))

    async def _poll_leased(self, feed_id: str) -> PollOutcome:
        try:
            return await self.poller.poll(self.poller.feeds[feed_id])
        finally:
            self._writes.release(feed_id)
            self._finished(feed_id, self.clock())
            if feed_id not in self.poller.feeds:  # removed while polled: its poll has just set its series again
                self.poller.forget(feed_id)

    def _flush(self, *, last: bool) -> bool:
        """Write what is pending; whether it could be written."""
        try:
            self._writes.flush(self.clock())
        except TRANSIENT_ERRORS as error:
            if last:  # the leases expire; the feeds are polled again with older state
                log.error("feed_states_not_saved", error=str(error)[:300])
            else:  # still pending: the loop's next turn writes it
                log.warning("state_db_unavailable", error=str(error)[:300])
            return False
        return True

    def _reap(self) -> None:
        for fid, task in list(self._in_flight.items()):
            if not task.done():
                continue
            self._in_flight.pop(fid)
            error = task.exception()
            if error is not None:  # a bug or the state database: the lease expires, the feed is retried
                log.error("poll_crashed", feed=fid, error=repr(error)[:300])
                self._defer([fid], self.clock() + self.leases.ttl)

    def _finished(self, feed_id: str, fallback: datetime) -> None:
        if feed_id not in self.poller.feeds:
            return
        state = self.poller.states.get(feed_id)
        self._schedule(feed_id, ((state.next_attempt_at if state else None) or fallback) + self._spread(feed_id))

    def _spread(self, feed_id: str) -> timedelta:
        limit = min(CLAIM_SPREAD_SECONDS, self.poller.feeds[feed_id].interval / 10)
        return timedelta(seconds=self.rng.uniform(0, limit))

    def _schedule(self, feed_id: str, when: datetime) -> None:
        if feed_id not in self.poller.feeds:  # removed from the feeds file meanwhile
            return
        self._next_try[feed_id] = when
        heapq.heappush(self._heap, (when, feed_id))

    def _defer(self, feed_ids: list[str], until: datetime) -> None:
        for fid in feed_ids:
            self._schedule(fid, until)

    def _take_due(self, now: datetime) -> list[str]:
        due: dict[str, None] = {}
        while self._heap and self._heap[0][0] <= now:
            when, fid = heapq.heappop(self._heap)
            # A superseded entry, or a feed in flight (its poll reschedules it when done): skip.
            if self._next_try.get(fid) == when and fid not in self._in_flight:
                due[fid] = None
        return list(due)

    def _idle_seconds(self) -> float:
        if not self._heap:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(TICK_SECONDS, (self._heap[0][0] - self.clock()).total_seconds()))

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            polling = sum(1 for task in self._in_flight.values() if not task.done())
            if not polling:
                continue
            try:
                held = self.leases.renew(self.clock())
            except TRANSIENT_ERRORS as error:
                log.warning("lease_renewal_failed", error=str(error)[:300])
                continue
            if held < polling:  # a stall longer than the TTL: another poller may have taken feeds over
                log.warning("leases_lost", held=held, polling=polling)
