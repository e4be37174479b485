"""The poll loop under leases, on SQLite: due feeds polled, leases given back, held feeds left alone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from schemas import RawItem
from services.core.db import Database, Tx
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.leases import LeaseStore, holders
from services.poller.loop import PendingWrites, PollLoop
from services.poller.service import Poller
from services.poller.state import FeedState, PollerStore
from tests.helpers import FeedServer, Resource, eventually, rss

STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


def make_loop(server: FeedServer, db: Database, interval: float = 60, *, shutdown_grace: float = 10,
              publish: Callable[[list[RawItem]], None] | None = None,
              max_concurrency: int = 64) -> tuple[PollLoop, list[RawItem]]:
    for name in ("a", "b"):
        server.resources.setdefault(f"/{name}.xml", Resource(rss(name, [STORY])))
    feeds = [FeedConfig(id=name, url=server.url(f"/{name}.xml"), interval=interval)  # type: ignore[arg-type]
             for name in ("a", "b")]
    published: list[RawItem] = []
    poller = Poller(feeds, PollerStore(db), Fetcher(FetchLimits(allow_private_networks=True)),
                    publish or published.extend, max_concurrency=max_concurrency)
    return PollLoop(poller, LeaseStore(db, "me", ttl_seconds=5), shutdown_grace=shutdown_grace), published


async def test_once_polls_every_feed_except_one_another_poller_is_polling(feed_server: FeedServer,
                                                                         db: Database) -> None:
    loop, _ = make_loop(feed_server, db)
    other = LeaseStore(db, "other", ttl_seconds=5)
    other.ensure(["a", "b"])
    assert other.claim_due(["b"], datetime.now(UTC)) == {"b"}
    outcomes = await loop.run(StopSignal(), once=True)
    await loop.poller.fetcher.aclose()
    assert [(o.feed_id, o.outcome) for o in outcomes] == [("a", "ok")]
    leases = holders(db)
    state = PollerStore(db).feed_state("a", feed_server.url("/a.xml"))
    assert leases["a"] == ("", state.next_attempt_at)  # given back, due at its next attempt
    assert leases["b"][0] == "other"


@pytest.mark.usefixtures("quick_polls")
async def test_the_loop_polls_due_feeds_again_and_gives_every_lease_back_when_stopped(feed_server: FeedServer,
                                                                                      db: Database) -> None:
    loop, published = make_loop(feed_server, db, interval=0.2)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: len([p for p, _ in feed_server.requests if p == "/b.xml"]) >= 3,
                     message="three polls of b")
    stop.set()
    await asyncio.wait_for(task, 10)
    await loop.poller.fetcher.aclose()
    assert len(published) == 2  # each feed's one story, once, however often it was polled
    assert {owner for owner, _ in holders(db).values()} == {""}


async def test_a_finished_polls_state_and_lease_are_written_while_the_loop_runs(feed_server: FeedServer,
                                                                              db: Database) -> None:
    loop, _ = make_loop(feed_server, db)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop))
    try:
        # not only when stopped: at the loop's next turn
        await eventually(lambda: not any(holders(db).get(name, ("me", None))[0] for name in ("a", "b")),
                         timeout=10, message="both leases given back")
        for name in ("a", "b"):
            state = PollerStore(db).feed_state(name, feed_server.url(f"/{name}.xml"))
            assert state.last_success_at is not None and state.body_hash is not None
            assert holders(db)[name] == ("", state.next_attempt_at)  # claimable again at its next attempt
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await loop.poller.fetcher.aclose()


async def test_stopping_waits_for_polls_only_within_the_grace_then_cancels_the_rest(feed_server: FeedServer,
                                                                               db: Database) -> None:
    # Both answers wait at the server: a's is let go once the stop is asked, b's not before the test ends.
    late, stalled = threading.Event(), threading.Event()
    feed_server.resources["/a.xml"] = Resource(rss("a", [STORY]), gate=late)
    feed_server.resources["/b.xml"] = Resource(rss("b", [STORY]), gate=stalled)
    loop, published = make_loop(feed_server, db, shutdown_grace=2)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop))
    try:
        await eventually(lambda: {path for path, _ in feed_server.requests} == {"/a.xml", "/b.xml"},
                         message="both polls waiting at the server")
        stop.set()
        late.set()
        await asyncio.wait_for(task, 10)  # the grace, not b's 30 s at the server
    finally:
        late.set()
        stalled.set()
        stop.set()
        await asyncio.wait_for(task, 40)
        await loop.poller.fetcher.aclose()
    a = PollerStore(db).feed_state("a", feed_server.url("/a.xml"))
    b = PollerStore(db).feed_state("b", feed_server.url("/b.xml"))
    assert a.last_success_at is not None and [item.feed_id for item in published] == ["a"]  # ended in the grace
    assert b.last_attempt_at is None  # cancelled: nothing of its poll saved, so it is polled again as it was
    assert {owner for owner, _ in holders(db).values()} == {""}  # every lease given back
    assert holders(db)["b"][1] is not None and holders(db)["b"][1] <= datetime.now(UTC)  # due at once


async def test_items_of_a_poll_cancelled_while_publishing_are_published_by_the_next_poll(
        feed_server: FeedServer, db: Database) -> None:
    handed_over: list[RawItem] = []
    acked = threading.Event()

    def unacknowledged(items: list[RawItem]) -> None:  # the broker takes the items and does not answer
        handed_over.extend(items)
        acked.wait(30)

    first, _ = make_loop(feed_server, db, shutdown_grace=0.5, publish=unacknowledged)
    stop = StopSignal()
    task = asyncio.create_task(first.run(stop))
    try:
        await eventually(lambda: len(handed_over) == 2, message="both feeds' items handed to the producer")
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        acked.set()
        stop.set()
        await asyncio.wait_for(task, 40)
        await first.poller.fetcher.aclose()

    second, published = make_loop(feed_server, db)
    outcomes = await second.run(StopSignal(), once=True)
    await second.poller.fetcher.aclose()
    assert sorted((o.feed_id, o.outcome) for o in outcomes) == [("a", "ok"), ("b", "ok")]
    assert sorted(item.item_id for item in published) == sorted(item.item_id for item in handed_over)


async def test_a_stopped_once_run_cancels_its_polls_after_the_grace_and_names_them(feed_server: FeedServer,
                                                                                   db: Database) -> None:
    # a's answer is let go once the stop is asked, b's waits at the server until the test ends.
    late, stalled = threading.Event(), threading.Event()
    feed_server.resources["/a.xml"] = Resource(rss("a", [STORY]), gate=late)
    feed_server.resources["/b.xml"] = Resource(rss("b", [STORY]), gate=stalled)
    loop, published = make_loop(feed_server, db, shutdown_grace=1)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop, once=True))
    try:
        await eventually(lambda: {path for path, _ in feed_server.requests} == {"/a.xml", "/b.xml"},
                         message="both polls waiting at the server")
        stop.set()
        late.set()
        outcomes = await asyncio.wait_for(task, 10)  # the grace, not b's 30 s at the server
    finally:
        late.set()
        stalled.set()
        stop.set()
        await asyncio.wait_for(task, 40)
        await loop.poller.fetcher.aclose()
    assert [(o.feed_id, o.outcome) for o in outcomes] == [("a", "ok")]
    assert loop.unfinished == ["b"]
    assert [item.feed_id for item in published] == ["a"]
    assert PollerStore(db).feed_state("b", feed_server.url("/b.xml")).last_attempt_at is None  # nothing saved
    assert {owner for owner, _ in holders(db).values()} == {""}
    assert holders(db)["b"][1] is not None and holders(db)["b"][1] <= datetime.now(UTC)  # due at once


async def test_a_stopped_once_run_starts_no_poll_still_waiting_for_its_turn(feed_server: FeedServer,
                                                                            db: Database) -> None:
    # One poll at a time: the first waits at the server, the second waits for its turn.
    stalled = threading.Event()
    for name in ("a", "b"):
        feed_server.resources[f"/{name}.xml"] = Resource(rss(name, [STORY]), gate=stalled)
    loop, published = make_loop(feed_server, db, shutdown_grace=30, max_concurrency=1)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop, once=True))
    try:
        with capture_logs() as logs:
            await eventually(lambda: len(feed_server.requests) == 1, message="the first poll waiting at the server")
            stop.set()
            await eventually(lambda: any(entry["event"] == "polls_not_started" for entry in logs),
                             message="the stop noticed")
            stalled.set()  # the poll in hand ends within the grace
            outcomes = await asyncio.wait_for(task, 10)
    finally:
        stalled.set()
        stop.set()
        await asyncio.wait_for(task, 40)
        await loop.poller.fetcher.aclose()
    assert len(feed_server.requests) == 1  # the second poll never started
    assert len(outcomes) == 1 and outcomes[0].outcome == "ok"
    assert loop.unfinished == sorted({"a", "b"} - {outcomes[0].feed_id})
    assert [item.feed_id for item in published] == [outcomes[0].feed_id]


async def test_items_of_a_once_run_cancelled_while_publishing_are_published_by_the_next_run(
        feed_server: FeedServer, db: Database) -> None:
    handed_over: list[RawItem] = []
    acked = threading.Event()

    def unacknowledged(items: list[RawItem]) -> None:  # the broker takes the items and does not answer
        handed_over.extend(items)
        acked.wait(30)

    first, _ = make_loop(feed_server, db, shutdown_grace=0.5, publish=unacknowledged)
    stop = StopSignal()
    task = asyncio.create_task(first.run(stop, once=True))
    try:
        await eventually(lambda: len(handed_over) == 2, message="both feeds' items handed to the producer")
        stop.set()
        assert await asyncio.wait_for(task, 10) == []
    finally:
        acked.set()
        stop.set()
        await asyncio.wait_for(task, 40)
        await first.poller.fetcher.aclose()
    assert first.unfinished == ["a", "b"]
    assert PollerStore(db).known_hashes("a", [item.item_id for item in handed_over]) == {}  # not marked

    second, published = make_loop(feed_server, db)
    outcomes = await second.run(StopSignal(), once=True)
    await second.poller.fetcher.aclose()
    assert sorted((o.feed_id, o.outcome) for o in outcomes) == [("a", "ok"), ("b", "ok")]
    assert sorted(item.item_id for item in published) == sorted(item.item_id for item in handed_over)


class FailingDatabase(Database):
    """A real SQLite database whose transactions fail while ``failing`` is set, as a locked or lost one's do."""

    failing = False

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        if self.failing:
            raise sqlite3.OperationalError("database is locked")
        with super().transaction() as tx:
            yield tx


def test_pending_writes_stay_pending_while_the_database_fails_and_land_together_after(tmp_path: Path) -> None:
    db = FailingDatabase(f"sqlite:///{tmp_path / 'state.db'}")
    store, leases = PollerStore(db), LeaseStore(db, "me")
    store.migrate()
    now = datetime.now(UTC)
    leases.ensure(["a"])
    assert leases.claim_due(["a"], now) == {"a"}
    writes = PendingWrites(store, leases)
    writes.save(FeedState("a", "http://x.example/a", etag='"v1"', next_attempt_at=now + timedelta(seconds=60)))
    writes.save(FeedState("a", "http://x.example/a", etag='"v2"', next_attempt_at=now + timedelta(seconds=90)))
    writes.release("a")
    db.failing = True
    with pytest.raises(sqlite3.OperationalError):
        writes.flush(now)
    db.failing = False
    assert holders(db)["a"][0] == "me" and store.feed_state("a", "http://x.example/a").etag is None
    writes.flush(now)
    state = store.feed_state("a", "http://x.example/a")
    assert state.etag == '"v2"'  # the latest state of the feed
    assert holders(db)["a"] == ("", state.next_attempt_at)  # released at the state just saved, not before it
    leases.claim_now("a", now)
    writes.flush(now)  # nothing pending any more: the new claim stands
    assert holders(db)["a"][0] == "me"
    db.close()
