"""The poll of one feed: retrieve -> parse (following older pages) -> decide what is new -> publish -> remember.

A spool feed retrieves the files delivered into a directory instead, each one a document: a local one
(``spool.py``), or a directory or mailbox on a server (``remote.py``: SFTP, FTP, IMAP).

Delivery: items are produced and acknowledged (acks=all) *before* the feed's validators and seen-item
hashes are stored, so a crash in between republishes rather than loses; the normalizer drops the
repeats. An edited item (same id, new content hash) is published again as a new version. Items pushed
by a WebSub hub take the same decide -> publish -> remember path. When to poll is ``loop.py``'s job.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from schemas import RawItem
from services.core.config import DEFAULT_MAX_MESSAGE_BYTES, CommonSettings
from services.core.kafka import fit_message, make_producer
from services.core.text import storable
from services.poller import archive, metrics
from services.poller.budget import DEFAULT_LIMIT_BYTES, BodyBudget, BodyBudgetError, BodyShare
from services.poller.feeds import FeedConfig, OAuth2Auth
from services.poller.fetch import Fetcher, FetchError, FetchResult, HTTPStatusError, InvalidURLError, same_origin
from services.poller.formats import FeedContext, FeedParseError, ParsedFeed, parse_document
from services.poller.oauth import authorization
from services.poller.remote import RemoteError
from services.poller.schedule import (
    ADAPTIVE_MAX_SECONDS,
    ADAPTIVE_MIN_SECONDS,
    Hints,
    adaptive_interval,
    freshness_seconds,
    jittered_after,
    learn_item_gap,
    next_failure_time,
    next_gone_time,
    success_wait,
)
from services.poller.spool import File, Spool, SpoolError, UnusableFileError, open_spool
from services.poller.state import FailedFile, FeedState, MissedPage, PollerStore

log = structlog.get_logger(__name__)

T = TypeVar("T")
# Older pages a feed may have waiting to be read again, and for how long: beyond either the oldest is
# lost, so a feed whose next links keep failing costs a bounded number of requests per poll, and not
# forever (after the dedup window its items could not be told from copies already stored anyway).
MAX_MISSED_PAGES = 10
MISSED_PAGE_MAX_AGE = timedelta(days=7)
Publish = Callable[[list[RawItem]], None]
Clock = Callable[[], datetime]
Logger = structlog.typing.FilteringBoundLogger
#: Told about every successfully parsed poll (WebSub hub discovery listens here).
ParsedHook = Callable[[FeedConfig, ParsedFeed, FetchResult], None]


@dataclass(frozen=True)
class PollOutcome:
    feed_id: str
    outcome: str
    published: int = 0


@dataclass(frozen=True)
class FeedSetChange:
    """What a new feeds file changed, by feed id."""

    added: list[str]
    removed: list[str]
    changed: list[str]  # same id, other settings: they apply from the feed's next poll


@dataclass(frozen=True)
class Decision:
    fresh: list[RawItem]  # new or edited, and wanted: to publish
    new: int  # of the new or edited, ids never published before (an edit is not news for adaptive polling)
    skipped: list[RawItem] = field(default_factory=list)  # new or edited, but the feed's item rules refuse them

    @property
    def seen(self) -> list[RawItem]:
        """What to remember as handled: a skipped item is not looked at again until it is edited."""
        return self.fresh + self.skipped


def decide(items: list[RawItem], known: dict[str, str], wants: Callable[[RawItem], bool] = lambda _: True,
           ) -> Decision:
    """Pure: of the parsed items, those whose id is new or whose content hash changed, split by ``wants``."""
    latest = {item.item_id: item for item in items}  # a feed may repeat an item; keep its last copy
    fresh: list[RawItem] = []
    skipped: list[RawItem] = []
    for item in latest.values():
        if known.get(item.item_id) != item.content_hash:
            (fresh if wants(item) else skipped).append(item)
    new = sum(1 for item in fresh + skipped if item.item_id not in known)
    return Decision(fresh, new, skipped)


class Poller:
    def __init__(self, feeds: list[FeedConfig], store: PollerStore, fetcher: Fetcher, publish: Publish, *,
                 max_concurrency: int = 64, per_host_concurrency: int = 4, max_pages: int = 10,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 on_parsed: ParsedHook | None = None, backfill: bool = False,
                 publish_concurrency: int = 8, spool_settle_seconds: float = 5.0,
                 sftp_known_hosts: Path | None = None, max_body_bytes_in_flight: int = DEFAULT_LIMIT_BYTES) -> None:
        self.feeds = {feed.id: feed for feed in feeds}
        self.spool_settle_seconds = spool_settle_seconds
        self.sftp_known_hosts = sftp_known_hosts  # None: ~/.ssh/known_hosts
        self.backfill = backfill  # follow older pages up to max_pages even past items already seen
        self.store = store
        self.fetcher = fetcher
        self.publish = publish
        self.max_pages = max_pages
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.on_parsed = on_parsed
        self._global = asyncio.Semaphore(max_concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host_concurrency))
        self._body_budget = BodyBudget(max_body_bytes_in_flight)
        self._body_shares: dict[str, BodyShare] = {}  # by feed id: the polls in flight
        # A poll and a WebSub push of the same feed must not decide on the same seen-items at once.
        self._feed_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Parsing blocks on CPU: it runs on threads of its own, as many as polls may be in flight.
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="poller")
        # Publishing blocks on broker acks: a few threads of its own (each waits for its feed's acks with
        # a deadline), so publishes waiting on a slow broker never take the parsing threads, and the
        # producer is not driven by as many threads as there are polls in flight.
        self._publishing = ThreadPoolExecutor(max_workers=min(max_concurrency, publish_concurrency),
                                              thread_name_prefix="publisher")
        # Seen-items reads and writes wait on the state database: on the event loop, a slow or failing-over
        # database would stall every poll's I/O (and fire their timeouts); as many threads as the
        # database's pool has connections.
        self._storing = ThreadPoolExecutor(max_workers=store.db.pool_size, thread_name_prefix="poller-store")
        self.states: dict[str, FeedState] = {}
        # Where a poll's new state goes: the store at once, or the poll loop's writes behind (``loop.py``).
        self.save_state: Callable[[FeedState], None] = store.save_feed_state
        self._health_counts = {"ok": 0, "backing_off": 0, "gone": 0}

    def load_states(self, feed_ids: list[str] | None = None) -> None:
        """(Re)read feed states from the database: at start, and after claiming feeds another poller
        may have polled since (its validators and body hash are the ones to use)."""
        ids = list(self.feeds) if feed_ids is None else feed_ids
        for state in self.store.feed_states({fid: str(self.feeds[fid].url) for fid in ids}).values():
            self._remember(state)

    def feed_changes(self, feeds: list[FeedConfig]) -> FeedSetChange:
        """What polling this feed set instead would change."""
        configured = {feed.id: feed for feed in feeds}
        return FeedSetChange(
            added=[fid for fid in configured if fid not in self.feeds],
            removed=[fid for fid in self.feeds if fid not in configured],
            changed=[fid for fid, feed in configured.items() if fid in self.feeds and feed != self.feeds[fid]],
        )

    def replace_feeds(self, feeds: list[FeedConfig]) -> FeedSetChange:
        """Poll this feed set from now on. A removed feed's poll in hand still ends (``forget`` it then), as
        does a changed one's, under its old ``private_networks``, whose pool is closed once no feed uses them."""
        change = self.feed_changes(feeds)
        self.feeds = {feed.id: feed for feed in feeds}
        self.fetcher.retire_unused(feed.private_networks for feed in feeds)
        for fid in change.removed:
            self.forget(fid)
        return change

    def forget(self, feed_id: str) -> None:
        """Drop a feed that is no longer configured from the cache, the counts and every per-feed series, so
        that it neither shows as stale nor keeps its labels (its stored state stays, as after a restart)."""
        state = self.states.pop(feed_id, None)
        if state is not None:
            self._count(feed_health(state), -1)
        metrics.forget_feed(feed_id)

    def in_progress(self, feed_id: str) -> bool:
        """Whether a poll of this feed is under way, not waiting for its turn under the concurrency limits."""
        return feed_id in self._body_shares

    async def poll(self, feed: FeedConfig) -> PollOutcome:
        host = urlsplit(str(feed.url)).hostname or ""
        async with self._global, self._per_host[host], self._feed_locks[feed.id]:
            with self._body_budget.share() as self._body_shares[feed.id]:
                try:
                    outcome = await self._poll(feed)
                finally:
                    del self._body_shares[feed.id]
        metrics.FETCHES.labels(feed.id, outcome.outcome).inc()
        return outcome

    async def push(self, feed: FeedConfig, body: bytes, content_type: str | None) -> PollOutcome:
        """Items a WebSub hub pushed: parsed and published at once, like a poll's, without a fetch. Its
        body counts against the polls' budget while it is parsed; refused, the hub delivers it again later."""
        async with self._feed_locks[feed.id]:
            state = self._state(feed)
            now = self.clock()
            url = state.effective_url or state.url
            pushed = FetchResult(status=200, final_url=url, body=body, content_type=content_type)
            with self._body_budget.share() as share:
                try:
                    share.take(len(body))
                    parsed = await self._off_loop(self._parse, feed, pushed, now, share)
                    decision = await self._publish_items(feed, parsed.items)
                except BodyBudgetError:
                    return PollOutcome(feed.id, "over_budget")
                except FeedParseError:
                    return PollOutcome(feed.id, "parse_error")
            self._save(self._learned(state, decision, now))
        return PollOutcome(feed.id, "ok", len(decision.fresh))

    async def _off_loop(self, work: Callable[..., T], *args: Any, executor: ThreadPoolExecutor | None = None) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor or self._executor, work, *args)

    async def _in_store(self, work: Callable[..., T], *args: Any) -> T:
        return await self._off_loop(work, *args, executor=self._storing)

    def _state(self, feed: FeedConfig) -> FeedState:
        return self.states.get(feed.id) or self.store.feed_state(feed.id, str(feed.url))

    async def _poll(self, feed: FeedConfig) -> PollOutcome:
        now = self.clock()
        state = self._state(feed)
        state = state.but(last_attempt_at=now, first_attempt_at=state.first_attempt_at or now)
        bound = log.bind(feed=feed.id)
        if feed.is_spool:
            return await self._poll_spool(feed, state, bound)
        started = time.perf_counter()
        if state.effective_url and not self._may_move(feed, state.effective_url):
            state = state.but(effective_url=None)  # stored before credentials were kept to their origin
        try:
            result = await self._fetch_authorized(feed, state.effective_url or state.url, etag=state.etag,
                                                  last_modified=state.last_modified)
        except FetchError as error:
            return self._failed(feed, state, error, bound)
        finally:
            metrics.FETCH_DURATION.observe(time.perf_counter() - started)
        metrics.FETCHED_BYTES.labels(feed.id).inc(len(result.body))
        if result.permanent_url and self._may_move(feed, result.permanent_url):
            state = state.but(effective_url=result.permanent_url)
            bound.info("feed_moved_permanently", to=result.permanent_url)
        elif result.permanent_url:
            bound.info("feed_move_not_stored", to=result.permanent_url, reason="another origin than its credentials")
        return await self._handle(feed, state, result, bound)

    @staticmethod
    def _may_move(feed: FeedConfig, url: str) -> bool:
        """Whether polls may go straight to ``url``, where a permanent redirect said the feed moved. A feed
        with credentials moves only within its own origin: polled at another, it would get none (they are
        for the configured origin alone) and fail for good, and one forged redirect would have taken it
        from its server for good. Its configured URL is polled instead, the redirect followed each time."""
        return not (feed.auth or feed.headers) or same_origin(str(feed.url), url)

    async def _handle(self, feed: FeedConfig, state: FeedState, result: FetchResult, bound: Logger) -> PollOutcome:
        now = self.clock()
        hints = Hints(max_age=freshness_seconds(result.headers, now))
        if result.status == 410:
            self._save(state.but(gone=True, last_error="HTTP 410 Gone", next_attempt_at=next_gone_time(now, self.rng)))
            bound.warning("feed_gone")
            return PollOutcome(feed.id, "gone")
        state = await self._recover_missed_pages(feed, state, bound)
        if result.not_modified:
            self._succeeded(feed, state, hints, result)
            return PollOutcome(feed.id, "not_modified")
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:  # same bytes as last time: no parsing, nothing to publish
            self._succeeded(feed, state, hints, result)
            return PollOutcome(feed.id, "unchanged")
        try:
            parsed = await self._off_loop(self._parse, feed, result, now, self._body_shares[feed.id])
            # A feed's first poll takes its first page: older pages are history, which `feeds backfill`
            # reads on request; following them is for bursts between polls.
            first_poll = state.last_success_at is None and not self.backfill
            items, missed = ((parsed.items, None) if first_poll
                             else await self._with_older_pages(feed, parsed, result.final_url, bound))
        except FeedParseError as error:
            return self._failed(feed, state, error, bound, kind="parse_error")
        except BodyBudgetError as error:  # a fetched archive, unpacked
            return self._failed(feed, state, error, bound)
        state = self._with_missed(feed, state, [MissedPage(missed, now)] if missed else [], bound)
        return await self._publish_new(feed, state, parsed, items, result=result, body_hash=body_hash, bound=bound)

    async def _poll_spool(self, feed: FeedConfig, state: FeedState, bound: Logger) -> PollOutcome:
        """Publish the items of each settled file in the directory, then move the file on (or remember it)."""
        try:
            async with self._spool(feed) as spool:
                waiting = await spool.waiting()
                published = 0
                for file in waiting.files:
                    decision = await self._spooled_file(feed, spool, file, bound)
                    if decision is not None:
                        state = self._learned(state, decision, self.clock())
                        published += len(decision.fresh)
        except (SpoolError, RemoteError, FetchError) as error:
            return self._failed(feed, state, error, bound)
        except Exception as error:  # the broker is down or refused: the file stays, read again next time
            return self._failed(feed, state, error, bound, kind="publish_error")
        self._succeeded(feed, state, Hints(), FetchResult(status=200, final_url=str(feed.url)))
        if waiting.more:
            self._save(self._state(feed).but(next_attempt_at=self.clock()))
        if waiting.files:
            bound.info("spool_read", files=len(waiting.files), published=published, more=waiting.more)
        return PollOutcome(feed.id, "ok" if waiting.files else "not_modified", published)

    def _spool(self, feed: FeedConfig) -> AbstractAsyncContextManager[Spool[Any]]:
        return open_spool(feed, self._fetcher(feed), self.store, settle_seconds=self.spool_settle_seconds,
                          off_loop=self._off_loop, clock=self.clock, known_hosts=self.sftp_known_hosts)

    async def _spooled_file(self, feed: FeedConfig, spool: Spool[File], file: File,
                            bound: Logger) -> Decision | None:
        """The decision on one file's items once published; None when the file was set aside as failed. The
        file and what it unpacks count in the poll's share of the body budget until it is handled."""
        share = self._body_shares[feed.id]
        held_before = share.held_bytes
        try:
            return await self._handle_spooled_file(feed, spool, file, share, bound)
        finally:
            share.give_back(share.held_bytes - held_before)

    async def _handle_spooled_file(self, feed: FeedConfig, spool: Spool[File], file: File, share: BodyShare,
                                   bound: Logger) -> Decision | None:
        try:
            cap = self.fetcher.limits.max_body_bytes
            listed = min(file.size, cap) + 1  # a read may go one byte past the cap, to know
            share.take(listed)
            body = await spool.read(file, cap)
            share.settle(listed, len(body))  # grown since it was listed: counted once read, within the cap
            metrics.FETCHED_BYTES.labels(feed.id).inc(len(body))
            parsed = await self._off_loop(self._parse_spooled, feed, file.name, body, self.clock(), share)
        except FileNotFoundError:
            return None  # taken away between listing and reading: nothing of it to handle
        except (FeedParseError, UnusableFileError) as error:
            reason = storable(f"{type(error).__name__}: {error}")  # written beside the file, and stored
            await spool.failed(file, reason)
            await self._in_store(self.store.record_failed_file, FailedFile(feed.id, file.name, reason[:2000],
                                                                           self.clock()))
            metrics.SPOOLED_FILES.labels(feed.id, "failed").inc()
            bound.warning("spooled_file_failed", file=storable(file.name), error=storable(str(error))[:300])
            return None
        decision = await self._publish_items(feed, parsed.items)
        await spool.processed(file)
        await self._in_store(self.store.forget_failed_file, feed.id, file.name)
        metrics.SPOOLED_FILES.labels(feed.id, "processed").inc()
        return decision

    async def _with_older_pages(self, feed: FeedConfig, first: ParsedFeed, url: str,
                                bound: Logger) -> tuple[list[RawItem], str | None]:
        """RFC 5005 paging: while every item of a page is unseen, the burst may go on beyond it, so the
        next page is read too (up to ``max_pages``). A page that fails ends the reading there: the pages
        read are published at once, and the failed page is returned, to be read again at later polls
        (publishing the newer items marks them seen, so paging would not reach it again by itself)."""
        items, page, visited = list(first.items), first, {url}
        for _ in range(self.max_pages - 1):
            next_url = page.next_page_url
            if not next_url or next_url in visited or not (self.backfill or await self._all_unseen(feed, page.items)):
                return items, None
            visited.add(next_url)
            try:
                page = await self._fetch_page(feed, next_url)
            except (FetchError, FeedParseError) as error:
                return items, self._page_failed(feed, next_url, error, bound)
            items = page.items + items  # older pages first, so the newest copy of a moved item wins
        if page.next_page_url and await self._all_unseen(feed, page.items):
            bound.warning("feed_paging_truncated", pages=self.max_pages)
        return items, None

    def _page_failed(self, feed: FeedConfig, url: str, error: Exception, bound: Logger) -> str | None:
        """The failed page, to read again later; None when its server's answer is final."""
        if _answer_is_final(error):
            self._lose(feed, url, str(error), bound)
            return None
        metrics.PAGES_SKIPPED.labels(feed.id).inc()
        bound.warning("feed_page_skipped", url=url, error=str(error)[:300])
        return url

    def _lose(self, feed: FeedConfig, url: str, reason: str, bound: Logger) -> None:
        metrics.PAGES_LOST.labels(feed.id).inc()
        bound.warning("feed_page_lost", url=url, error=reason[:300])

    def _with_missed(self, feed: FeedConfig, state: FeedState, pages: list[MissedPage],
                     bound: Logger) -> FeedState:
        """The state with these pages to read again too; beyond the bound the oldest are lost."""
        by_url: dict[str, MissedPage] = {}
        for page in [*state.missed_pages, *pages]:
            by_url.setdefault(page.url, page)  # a page missed again keeps the time it was first missed
        waiting = list(by_url.values())
        for page in waiting[:-MAX_MISSED_PAGES]:
            self._lose(feed, page.url, f"more than {MAX_MISSED_PAGES} pages wait to be read", bound)
        return state.but(missed_pages=tuple(waiting[-MAX_MISSED_PAGES:]))

    async def _recover_missed_pages(self, feed: FeedConfig, state: FeedState, bound: Logger) -> FeedState:
        """Read again the pages earlier polls missed, now that the feed answers."""
        if not state.missed_pages:
            return state
        oldest = self.clock() - MISSED_PAGE_MAX_AGE
        waiting: list[MissedPage] = []
        for page in state.missed_pages:
            if page.since < oldest:
                self._lose(feed, page.url, f"unread since {page.since.isoformat()}", bound)
            else:
                waiting += await self._recover_page(feed, page, bound)
        return self._with_missed(feed, state.but(missed_pages=()), waiting, bound)

    async def _recover_page(self, feed: FeedConfig, missed: MissedPage, bound: Logger) -> list[MissedPage]:
        """The pages still to read after trying ``missed`` again. When it answers, its unseen items (and
        those of the older pages it links to, while all unseen) are published and it is done; when its
        server's answer is final it is lost; after any other failure it stays."""
        try:
            page = await self._fetch_page(feed, missed.url)
            items, deeper = await self._with_older_pages(feed, page, missed.url, bound)
            decision = await self._publish_items(feed, items)
        except Exception as error:  # a fetch, parse or publish failure
            if _answer_is_final(error):
                self._lose(feed, missed.url, str(error), bound)
                return []
            bound.info("feed_page_retry_failed", url=missed.url, error=str(error)[:300])
            return [missed]
        metrics.PAGES_RECOVERED.labels(feed.id).inc()
        bound.info("feed_page_recovered", url=missed.url, published=len(decision.fresh))
        return [MissedPage(deeper, self.clock())] if deeper else []

    def _fetcher(self, feed: FeedConfig) -> Fetcher:
        """The fetcher for everything fetched for the feed (its URL, redirects, pages, its OAuth token, its
        server's connection): one that may reach the private networks the feed lists too."""
        return self.fetcher.allowing(feed.private_networks)

    async def _fetch_authorized(self, feed: FeedConfig, url: str, **conditions: str | None) -> FetchResult:
        """A fetch with the feed's headers and credentials, sent only to the configured URL's origin (wherever
        ``url`` is: a permanent redirect's, a next page's), never to another a redirect points at."""
        fetcher = self._fetcher(feed)
        try:
            return await fetcher.fetch(url, headers=feed.headers, authorization=await authorization(feed.auth, fetcher),
                                       share=self._body_shares[feed.id], credentials_for=str(feed.url), **conditions)
        except HTTPStatusError as error:
            if error.status == 401 and isinstance(feed.auth, OAuth2Auth):
                feed.auth.drop_token()  # revoked, or expired early: the next poll asks for a new one
            raise

    async def _fetch_page(self, feed: FeedConfig, url: str) -> ParsedFeed:
        if same_origin(str(feed.url), url):
            result = await self._fetch_authorized(feed, url)
        else:  # a page on another host gets no credentials
            result = await self._fetcher(feed).fetch(url, share=self._body_shares[feed.id])
        if result.status != 200:
            raise HTTPStatusError(result.status)
        return await self._off_loop(self._parse, feed, result, self.clock(), self._body_shares[feed.id])

    async def _all_unseen(self, feed: FeedConfig, items: list[RawItem]) -> bool:
        return bool(items) and not await self._in_store(self.store.known_hashes, feed.id,
                                                        [item.item_id for item in items])

    async def _publish_new(self, feed: FeedConfig, state: FeedState, parsed: ParsedFeed, items: list[RawItem], *,
                           result: FetchResult, body_hash: str, bound: Logger) -> PollOutcome:
        try:
            decision = await self._publish_items(feed, items)
        except Exception as error:  # the broker is down or refused: keep validators so nothing is skipped
            return self._failed(feed, state, error, bound, kind="publish_error")
        now = self.clock()
        hints = Hints(max_age=freshness_seconds(result.headers, now), ttl=parsed.ttl_seconds)
        # Only now is the body "seen": after a failed publish the same bytes must be parsed again.
        self._succeeded(feed, self._learned(state.but(body_hash=body_hash), decision, now), hints, result)
        bound.info("feed_polled", items=len(items), published=len(decision.fresh), format=parsed.format.value)
        if self.on_parsed:
            self.on_parsed(feed, parsed, result)
        return PollOutcome(feed.id, "ok", len(decision.fresh))

    async def _publish_items(self, feed: FeedConfig, items: list[RawItem]) -> Decision:
        metrics.ITEMS_SEEN.labels(feed.id).inc(len(items))
        known = await self._in_store(self.store.known_hashes, feed.id, list({item.item_id for item in items}))
        decision = decide(items, known, feed.wants)
        await self._off_loop(self.publish, decision.fresh, executor=self._publishing)
        await self._in_store(functools.partial(self.store.mark_published, listed=list(known)), feed.id,
                             [(i.item_id, i.content_hash) for i in decision.seen], self.clock())
        metrics.ITEMS_PUBLISHED.labels(feed.id).inc(len(decision.fresh))
        metrics.ITEMS_SKIPPED.labels(feed.id).inc(len(decision.skipped))
        return decision

    def _learned(self, state: FeedState, decision: Decision, now: datetime) -> FeedState:
        if not decision.new:
            return state
        gap = learn_item_gap(state.mean_item_gap, state.last_new_item_at, now, decision.new)
        return state.but(mean_item_gap=gap, last_new_item_at=now)

    def _parse_spooled(self, feed: FeedConfig, name: str, body: bytes, now: datetime,
                       share: BodyShare) -> ParsedFeed:
        """A spooled file's items: its document's, or those of every document in it (an archive)."""
        result = FetchResult(status=200, final_url=str(feed.url), body=body)
        if not archive.is_archive(body):
            return self._parse_document(feed, result, now)
        return self._parse_archive(feed, name, result, now, share)

    def _parse(self, feed: FeedConfig, result: FetchResult, now: datetime, share: BodyShare) -> ParsedFeed:
        """A fetched body's items; an agency's compressed or archived file served as it is (``news.xml.gz``,
        a ``.zip`` of stories, with no Content-Encoding) is read as the same file on a spool would be, what
        it unpacks counted in the poll's ``share``."""
        if not archive.is_archive(result.body):
            return self._parse_document(feed, result, now)
        try:
            return self._parse_archive(feed, _file_name(result.final_url), result, now, share)
        except archive.ArchiveError as error:
            raise FeedParseError(str(error)) from error

    def _parse_archive(self, feed: FeedConfig, name: str, result: FetchResult, now: datetime,
                       reserve: archive.Reserve) -> ParsedFeed:
        limits = archive.Limits(self.fetcher.limits.max_body_bytes, self.fetcher.limits.max_decompressed_bytes)
        parsed: list[ParsedFeed] = []
        for member, document in archive.documents(result.body, name, limits, reserve):
            try:  # the archive's media type says nothing of its documents'
                parsed.append(self._parse_document(feed, replace(result, body=document, content_type=None), now))
            except FeedParseError as error:
                raise FeedParseError(f"{name}: {member}: {error}") from error
        if len(parsed) == 1:
            return parsed[0]  # one compressed feed: its paging, hub and ttl as well
        return ParsedFeed(parsed[0].format, items=[item for one in parsed for item in one.items])

    def _parse_document(self, feed: FeedConfig, result: FetchResult, now: datetime) -> ParsedFeed:
        ctx = FeedContext.for_feed(feed, result.final_url, now)
        return parse_document(result.body, ctx, result.content_type, feed.format)

    def _succeeded(self, feed: FeedConfig, state: FeedState, hints: Hints, result: FetchResult) -> None:
        now = self.clock()
        state = state.but(
            etag=result.etag or (state.etag if result.not_modified else None),
            last_modified=result.last_modified or (state.last_modified if result.not_modified else None),
            last_success_at=now, consecutive_failures=0, last_error=None, gone=False, hinted_wait=hints.wait(),
        )
        # The exported interval (``_export_schedule``) comes from the same state through the same function.
        self._save(state.but(next_attempt_at=jittered_after(now, polling_interval(feed, state, now), self.rng)))

    def _failed(self, feed: FeedConfig, state: FeedState, error: Exception, bound: Logger,
                kind: str | None = None) -> PollOutcome:
        kind = kind or str(getattr(error, "kind", "error"))
        failures = state.consecutive_failures + 1
        retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
        # Refused for the poller's own budget, the feed is not failing: it is not backed off.
        backoff = 1 if isinstance(error, BodyBudgetError) else failures
        now = self.clock()
        self._save(state.but(
            consecutive_failures=failures, last_error=f"{kind}: {error}"[:500],
            next_attempt_at=next_failure_time(now, feed.interval, backoff, Hints(retry_after=retry_after), self.rng),
        ))
        bound.warning("feed_failed", error_kind=kind, error=str(error)[:300], failures=failures)
        return PollOutcome(feed.id, kind)

    def _save(self, state: FeedState) -> None:
        self.save_state(state)
        self._remember(state)

    def _remember(self, state: FeedState) -> None:
        """Cache a feed's state and move it between the feeds-by-state counts: O(1) per poll, since a
        recount of every feed after each poll would cost more than the poll at 10,000 feeds."""
        if state.feed_id not in self.feeds:  # removed from the feeds file while it was being polled
            return
        previous = self.states.get(state.feed_id)
        self.states[state.feed_id] = state
        metrics.CONSECUTIVE_FAILURES.labels(state.feed_id).set(state.consecutive_failures)
        metrics.MISSED_PAGES.labels(state.feed_id).set(len(state.missed_pages))
        self._export_schedule(self.feeds[state.feed_id], state)
        before, after = (feed_health(previous) if previous else None), feed_health(state)
        if before == after:
            return
        if before:
            self._count(before, -1)
        self._count(after, 1)

    def _count(self, health: str, delta: int) -> None:
        self._health_counts[health] += delta
        metrics.FEEDS_BY_STATE.labels(health).set(self._health_counts[health])

    def _export_schedule(self, feed: FeedConfig, state: FeedState) -> None:
        """What WirefeedFeedStale compares, from the state as stored: the interval the scheduler waits after a
        success, and the last success, or for a feed never polled successfully its first attempt. Set for
        every feed this poller lists whenever its state is read (at start, on reload, when the feed falls
        due), not only after a poll of its own: a restarted poller, or one whose feeds another poller
        polls, would otherwise show a failing feed as never stale. Pollers sharing a state database all
        export every feed, and the rules take the freshest."""
        metrics.FEED_INTERVAL.labels(feed.id).set(polling_interval(feed, state, state.last_success_at or self.clock()))
        if state.last_success_at is not None:
            metrics.LAST_SUCCESS.labels(feed.id).set(state.last_success_at.timestamp())
            metrics.FIRST_ATTEMPT.remove(feed.id)
            return
        metrics.LAST_SUCCESS.remove(feed.id)  # a new feed, or one whose URL changed: what succeeded was another
        if state.first_attempt_at is not None:
            metrics.FIRST_ATTEMPT.labels(feed.id).set(state.first_attempt_at.timestamp())


def _answer_is_final(error: Exception) -> bool:
    """Whether a page's server answered for good: the page does not exist, or is not a feed document
    (a "load more" link to a web page, say), or its link cannot be fetched as written (a port out of
    range). Reading it again would get the same answer."""
    return ((isinstance(error, HTTPStatusError) and error.status in (404, 410))
            or isinstance(error, FeedParseError | InvalidURLError))


def polling_interval(feed: FeedConfig, state: FeedState, at: datetime) -> float:
    """How long the scheduler waits after a successful poll at ``at``, before jitter: the feed's interval
    (learned, when adaptive), or longer where the success's server or document asked (``hinted_wait``: up
    to a day), within the feed's bounds."""
    interval, low, high = feed.interval, feed.min_interval, feed.max_interval
    if feed.adaptive:
        interval = adaptive_interval(state.mean_item_gap, state.last_new_item_at, at,
                                     min_interval=low, max_interval=high) or interval
        low, high = low or ADAPTIVE_MIN_SECONDS, high or ADAPTIVE_MAX_SECONDS
    return success_wait(interval, state.hinted_wait, min_interval=low, max_interval=high)


def feed_health(state: FeedState) -> str:
    """ok, backing_off or gone: the state label of metrics and ``wirefeed feeds status``."""
    return "gone" if state.gone else "backing_off" if state.consecutive_failures else "ok"


#: How long a publish waits at a time before it looks again at its deadline and at the publisher's close;
#: the poller's producer waits for a topic's metadata this long per call (``publishing_producer``).
PUBLISH_WAIT_SLICE_SECONDS = 0.5


def publishing_producer(settings: CommonSettings, role: str = "poller", **overrides: Any) -> KafkaProducer:
    """The producer a KafkaPublisher publishes with. Its ``max_block_ms`` is a slice, not kafka-python's
    60 s: ``send()`` waits that long for a topic's metadata the producer does not have yet, whatever the
    caller's deadline, so with Kafka gone before a feed's first publish the publishing thread outlived its
    publish deadline, and the poller's stop its grace (the thread held the interpreter's exit)."""
    return make_producer(settings, role=role, max_block_ms=round(PUBLISH_WAIT_SLICE_SECONDS * 1000), **overrides)


class PublishTimeoutError(Exception):
    """The broker did not acknowledge a feed's items in time: the poll fails and is retried later."""


class PublishStoppedError(Exception):
    """The publisher was closed, the poller stopping, before the broker acknowledged a feed's items."""


class KafkaPublisher:
    """Sends a feed's raw items keyed by item id and waits until the broker has acknowledged every one
    (acks=all), within one deadline.

    It waits on its own records' futures only. ``producer.flush()`` is not used: in kafka-python 3.0 it
    waits on every batch in the producer, whichever thread appended it, each for the whole timeout, so
    one slow partition held every publishing thread of the poller at once. The producer's ``linger_ms``
    sends the batches without a flush. A publish not acknowledged by the deadline raises
    ``PublishTimeoutError`` instead of blocking: the poll becomes a ``publish_error``, the feed's state is
    not saved, and the next poll publishes the items again (the normalizer drops repeats).

    Every wait, for the topic's metadata as for the acknowledgements, lasts PUBLISH_WAIT_SLICE_SECONDS at a
    time (the metadata's with a ``publishing_producer``), so a publish keeps its deadline even before the
    producer knows the topic, and ends within a slice of ``close()``.
    """

    def __init__(self, producer: object, topic: str, timeout: float = 60.0, *,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self.failing = False  # the last publish failed: a write an ACL refuses, a broker not acknowledging
        self._closed = threading.Event()

    def publishing(self) -> bool:
        """A readiness check: the last publish went through (or none was needed yet)."""
        return not self.failing

    def close(self) -> None:
        """Stop waiting: publishes in progress end within a slice, and later ones at once, raising
        ``PublishStoppedError``. The poller closes it once its polls have ended or been cancelled, so that
        their publishing threads do not hold its exit; their items are not marked published, and the
        next poll publishes them."""
        self._closed.set()

    def __call__(self, items: list[RawItem]) -> None:
        if not items:
            return
        try:
            self._send(items)
        except Exception:
            self.failing = True
            raise
        self.failing = False

    def _send(self, items: list[RawItem]) -> None:
        deadline = time.monotonic() + self.timeout
        # A very long post: its copy of the source fragment goes first, then the end of its HTML.
        values = [fit_message(item, self.max_message_bytes, "poller", drop=("original",),
                              cut=("content_html", "summary_html"))[1] for item in items]
        self._await_topic(deadline)  # send() would wait for it deaf to the deadline and to close()
        futures = [self.producer.send(self.topic, key=item.item_id.encode(), value=value)  # type: ignore[attr-defined]
                   for item, value in zip(items, values, strict=True)]
        for future in futures:
            self._acknowledged(future, deadline)

    def _await_topic(self, deadline: float) -> None:
        """Until the producer knows the topic's partitions (at once, once it has asked the cluster)."""
        while True:
            self._seconds_left(deadline)
            with suppress(KafkaTimeoutError):  # not within the producer's max_block_ms: ask again
                self.producer.partitions_for(self.topic)  # type: ignore[attr-defined]
                return

    def _acknowledged(self, future: Any, deadline: float) -> None:
        """Wait for one record's ack until the deadline; raise the send's own error if it failed (the
        producer gave up on the record after ``delivery_timeout_ms``, say)."""
        while not future.is_done:
            left = self._seconds_left(deadline)
            with suppress(KafkaTimeoutError):  # not in this slice; a failed record raises below
                future.get(timeout=min(left, PUBLISH_WAIT_SLICE_SECONDS))
        if future.failed():
            raise future.exception

    def _seconds_left(self, deadline: float) -> float:
        """What is left to wait; raises once the publisher is closed or the deadline has passed."""
        if self._closed.is_set():
            raise PublishStoppedError("the poller is stopping: items not acknowledged by the broker yet")
        left = deadline - time.monotonic()
        if left <= 0:
            raise PublishTimeoutError(f"items not acknowledged by the broker within {self.timeout:g} s")
        return left


def _file_name(url: str) -> str:
    """The last part of a URL's path, naming a fetched archive as a spooled file's name names it."""
    return urlsplit(url).path.rstrip("/").rpartition("/")[2] or "body"
