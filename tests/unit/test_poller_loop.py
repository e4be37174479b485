"""The poll loop under leases, on SQLite: due feeds polled, leases given back, held feeds left alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from schemas import RawItem
from services.core.db import Database
from services.core.runner import StopSignal
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.leases import LeaseStore, holders
from services.poller.loop import PollLoop
from services.poller.service import Poller
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, rss

STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


def make_loop(server: FeedServer, db: Database, interval: float = 60) -> tuple[PollLoop, list[RawItem]]:
    for name in ("a", "b"):
        server.resources[f"/{name}.xml"] = Resource(rss(name, [STORY]))
    feeds = [FeedConfig(id=name, url=server.url(f"/{name}.xml"), interval=interval)  # type: ignore[arg-type]
             for name in ("a", "b")]
    published: list[RawItem] = []
    poller = Poller(feeds, PollerStore(db), Fetcher(FetchLimits(allow_private_networks=True)), published.extend)
    return PollLoop(poller, LeaseStore(db, "me", ttl_seconds=5)), published


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


async def test_the_loop_polls_due_feeds_again_and_gives_every_lease_back_when_stopped(feed_server: FeedServer,
                                                                                      db: Database) -> None:
    loop, published = make_loop(feed_server, db, interval=0.2)
    stop = StopSignal()
    task = asyncio.create_task(loop.run(stop))
    async with asyncio.timeout(15):
        while len([p for p, _ in feed_server.requests if p == "/b.xml"]) < 3:
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 10)
    await loop.poller.fetcher.aclose()
    assert len(published) == 2  # each feed's one story, once, however often it was polled
    assert {owner for owner, _ in holders(db).values()} == {""}
