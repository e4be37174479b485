"""The poller loop: for each due feed, retrieve -> parse -> decide what is new -> publish -> remember.

Delivery: items are produced and flushed (acks=all) *before* the feed's validators and seen-item
hashes are stored, so a crash in between republishes rather than loses; the normalizer drops the
repeats. An edited item (same id, new content hash) is published again as a new version.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import structlog

from schemas import RawItem
from services.core.runner import StopSignal
from services.poller import metrics
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchError, FetchResult, HTTPStatusError
from services.poller.formats import FeedContext, FeedParseError, ParsedFeed, parse_document
from services.poller.schedule import (
    Hints,
    cache_max_age,
    next_failure_time,
    next_gone_time,
    next_success_time,
)
from services.poller.state import FeedState, PollerStore

log = structlog.get_logger(__name__)

Publish = Callable[[list[RawItem]], None]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class PollOutcome:
    feed_id: str
    outcome: str
    published: int = 0


class Poller:
    def __init__(self, feeds: list[FeedConfig], store: PollerStore, fetcher: Fetcher, publish: Publish, *,
                 max_concurrency: int = 64, per_host_concurrency: int = 4,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self.feeds = {feed.id: feed for feed in feeds}
        self.store = store
        self.fetcher = fetcher
        self.publish = publish
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self._global = asyncio.Semaphore(max_concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host_concurrency))
        self._states: dict[str, FeedState] = {}

    def load_states(self) -> None:
        for feed in self.feeds.values():
            self._states[feed.id] = self.store.feed_state(feed.id, str(feed.url))
        self._export_states()

    async def run(self, stop: StopSignal, *, once: bool = False) -> list[PollOutcome]:
        """Poll due feeds until stopped; with ``once``, poll every feed one time and return."""
        self.load_states()
        if once:
            return list(await asyncio.gather(*(self.poll(feed) for feed in self.feeds.values())))
        in_flight: dict[str, asyncio.Task[PollOutcome]] = {}
        while not stop.is_set():
            for feed in self._due(set(in_flight)):
                in_flight[feed.id] = asyncio.create_task(self.poll(feed))
            done = [fid for fid, task in in_flight.items() if task.done()]
            for fid in done:
                in_flight.pop(fid)
            await asyncio.sleep(min(0.5, self._seconds_to_next_due()))
        if in_flight:  # finish the polls in hand: their items are flushed and their state saved
            await asyncio.gather(*in_flight.values())
        return []

    async def poll(self, feed: FeedConfig) -> PollOutcome:
        host = urlsplit(str(feed.url)).hostname or ""
        async with self._global, self._per_host[host]:
            outcome = await self._poll(feed)
        metrics.FETCHES.labels(feed.id, outcome.outcome).inc()
        self._export_states()
        return outcome

    async def _poll(self, feed: FeedConfig) -> PollOutcome:
        state = self._states.get(feed.id) or self.store.feed_state(feed.id, str(feed.url))
        now = self.clock()
        state = state.but(last_attempt_at=now)
        bound = log.bind(feed=feed.id)
        started = time.perf_counter()
        try:
            result = await self.fetcher.fetch(state.effective_url or state.url, etag=state.etag,
                                              last_modified=state.last_modified, headers=feed.headers)
        except FetchError as error:
            return self._failed(feed, state, error, bound)
        finally:
            metrics.FETCH_DURATION.observe(time.perf_counter() - started)
        metrics.FETCHED_BYTES.labels(feed.id).inc(len(result.body))
        if result.permanent_url:
            state = state.but(effective_url=result.permanent_url)
            bound.info("feed_moved_permanently", to=result.permanent_url)
        return await self._handle(feed, state, result, bound)

    async def _handle(self, feed: FeedConfig, state: FeedState, result: FetchResult,
                      bound: structlog.typing.FilteringBoundLogger) -> PollOutcome:
        now = self.clock()
        hints = Hints(max_age=cache_max_age(result.headers.get("cache-control")))
        if result.status == 410:
            self._save(state.but(gone=True, last_error="HTTP 410 Gone", next_attempt_at=next_gone_time(now, self.rng)))
            bound.warning("feed_gone")
            return PollOutcome(feed.id, "gone")
        if result.not_modified:
            self._succeeded(feed, state, hints, result)
            return PollOutcome(feed.id, "not_modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:
            self._succeeded(feed, state, hints, result)
            return PollOutcome(feed.id, "unchanged")
        try:
            parsed = await asyncio.to_thread(self._parse, feed, result, now)
        except FeedParseError as error:
            return self._failed(feed, state, error, bound, kind="parse_error")
        return await self._publish_new(feed, state, parsed, result=result, body_hash=body_hash, bound=bound)

    async def _publish_new(self, feed: FeedConfig, state: FeedState, parsed: ParsedFeed, *, result: FetchResult,
                           body_hash: str, bound: structlog.typing.FilteringBoundLogger) -> PollOutcome:
        latest = {item.item_id: item for item in parsed.items}  # a feed may repeat an item; keep its last copy
        metrics.ITEMS_SEEN.labels(feed.id).inc(len(latest))
        pairs = [(item.item_id, item.content_hash) for item in latest.values()]
        changed = self.store.changed_items(feed.id, pairs)
        fresh = [item for item in latest.values() if item.item_id in changed]
        try:
            await asyncio.to_thread(self.publish, fresh)
        except Exception as error:  # the broker is down or refused: keep validators so nothing is skipped
            return self._failed(feed, state, error, bound, kind="publish_error")
        self.store.mark_published(feed.id, [(i.item_id, i.content_hash) for i in fresh], self.clock())
        metrics.ITEMS_PUBLISHED.labels(feed.id).inc(len(fresh))
        hints = Hints(max_age=cache_max_age(result.headers.get("cache-control")), ttl=parsed.ttl_seconds)
        self._succeeded(feed, state.but(body_hash=body_hash), hints, result)
        bound.info("feed_polled", items=len(latest), published=len(fresh), format=parsed.format.value)
        return PollOutcome(feed.id, "ok", len(fresh))

    def _parse(self, feed: FeedConfig, result: FetchResult, now: datetime) -> ParsedFeed:
        ctx = FeedContext(feed_id=feed.id, feed_url=result.final_url, fetched_at=now)
        return parse_document(result.body, ctx, result.content_type, feed.format)

    def _succeeded(self, feed: FeedConfig, state: FeedState, hints: Hints, result: FetchResult) -> None:
        now = self.clock()
        self._save(state.but(
            etag=result.etag or (state.etag if result.not_modified else None),
            last_modified=result.last_modified or (state.last_modified if result.not_modified else None),
            last_success_at=now, consecutive_failures=0, last_error=None, gone=False,
            next_attempt_at=next_success_time(now, feed.interval, hints, self.rng,
                                              min_interval=feed.min_interval, max_interval=feed.max_interval),
        ))
        metrics.LAST_SUCCESS.labels(feed.id).set(now.timestamp())

    def _failed(self, feed: FeedConfig, state: FeedState, error: Exception,
                bound: structlog.typing.FilteringBoundLogger, kind: str | None = None) -> PollOutcome:
        kind = kind or str(getattr(error, "kind", "error"))
        failures = state.consecutive_failures + 1
        retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
        now = self.clock()
        self._save(state.but(
            consecutive_failures=failures, last_error=f"{kind}: {error}"[:500],
            next_attempt_at=next_failure_time(now, feed.interval, failures, Hints(retry_after=retry_after),
                                              self.rng),
        ))
        bound.warning("feed_failed", error_kind=kind, error=str(error)[:300], failures=failures)
        return PollOutcome(feed.id, kind)

    def _save(self, state: FeedState) -> None:
        self._states[state.feed_id] = state
        self.store.save_feed_state(state)

    def _due(self, busy: set[str]) -> list[FeedConfig]:
        now = self.clock()
        return [feed for feed in self.feeds.values() if feed.id not in busy
                and (self._states[feed.id].next_attempt_at or now) <= now]

    def _seconds_to_next_due(self) -> float:
        now = self.clock()
        upcoming = [s.next_attempt_at for s in self._states.values() if s.next_attempt_at]
        if len(upcoming) < len(self._states):
            return 0.0
        return max(0.0, (min(upcoming) - now).total_seconds()) if upcoming else 1.0

    def _export_states(self) -> None:
        counts = {"ok": 0, "backing_off": 0, "gone": 0}
        for state in self._states.values():
            metrics.CONSECUTIVE_FAILURES.labels(state.feed_id).set(state.consecutive_failures)
            key = "gone" if state.gone else "backing_off" if state.consecutive_failures else "ok"
            counts[key] += 1
        for key, value in counts.items():
            metrics.FEEDS_BY_STATE.labels(key).set(value)


class KafkaPublisher:
    """Sends raw items keyed by item id and waits until the broker has acknowledged every one."""

    def __init__(self, producer: object, topic: str, timeout: float = 60.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout

    def __call__(self, items: list[RawItem]) -> None:
        if not items:
            return
        futures = [self.producer.send(self.topic, key=item.item_id.encode(), value=item.to_bytes())  # type: ignore[attr-defined]
                   for item in items]
        self.producer.flush(timeout=self.timeout)  # type: ignore[attr-defined]
        for future in futures:
            future.get(timeout=self.timeout)  # raises the send's error, if any
