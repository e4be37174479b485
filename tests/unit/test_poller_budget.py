"""The body bytes all polls in flight hold together are bounded (budget.py), against a real HTTP server."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError

from schemas import RawItem
from services.poller.budget import BodyBudget, BodyBudgetError
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import Poller
from services.poller.settings import PollerSettings
from services.poller.spool import DirectorySpool, SpooledFile
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, eventually, rss

BUDGET = 1_000_000


def feed_of(size: int, name: str) -> bytes:
    """An RSS document of about ``size`` bytes: one story with a long body."""
    return rss(name, [{"title": name, "link": f"http://example.com/{name}", "body": "x" * size}])


def held() -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_body_bytes_in_flight") or 0.0


def test_a_share_is_given_back_whole_and_a_take_past_the_budget_takes_nothing() -> None:
    budget = BodyBudget(100)
    with budget.share() as first:
        first.take(60)
        with budget.share() as second:
            second.take(30)
            with pytest.raises(BodyBudgetError, match="budget of 100"):
                second.take(11)
            assert (budget.held_bytes, second.held_bytes) == (90, 30)
        assert budget.held_bytes == 60
        first.take(40)
    assert budget.held_bytes == 0


async def test_a_read_past_the_budget_fails_its_feed_while_the_polls_holding_it_go_on(
        feed_server: FeedServer, store: PollerStore) -> None:
    midway = threading.Event()
    feed_server.resources["/big.xml"] = Resource(feed_of(900_000, "big"), midway=midway)
    feed_server.resources["/small.xml"] = Resource(feed_of(700_000, "small"))
    big = FeedConfig(id="big", url=feed_server.url("/big.xml"), interval=60)
    small = FeedConfig(id="small", url=feed_server.url("/small.xml"), interval=60)
    published: list[RawItem] = []
    poller = Poller([big, small], store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend,
                    max_body_bytes_in_flight=BUDGET)
    poller.load_states()
    try:
        big_poll = asyncio.create_task(poller.poll(big))
        await eventually(lambda: held() >= 400_000, message="the big feed's first half read")
        for failures in (1, 2):
            assert (await poller.poll(small)).outcome == "over_budget"  # 700,000 more would pass 1,000,000
            refused = poller.states["small"]
            assert "budget of 1000000" in (refused.last_error or "")
            assert refused.consecutive_failures == failures
            # not the feed's fault: tried again at its interval (with its jitter), not backed off
            assert refused.next_attempt_at is not None and refused.last_attempt_at is not None
            assert (refused.next_attempt_at - refused.last_attempt_at).total_seconds() <= 60 * 1.1 + 1
        pushed = feed_of(700_000, "pushed")  # a WebSub push is parsed within the same budget
        assert (await poller.push(small, pushed, "application/rss+xml")).outcome == "over_budget"
        assert not published
        midway.set()
        assert (await big_poll).outcome == "ok"  # its 900,000 bytes fit: refusing the other kept them
        assert held() == 0
        assert (await poller.poll(small)).outcome == "ok"  # alone, it fits
        assert (await poller.push(small, pushed, "application/rss+xml")).outcome == "ok"
        assert [item.item_id for item in published] == [
            "big:http://example.com/big", "small:http://example.com/small", "small:http://example.com/pushed"]
    finally:
        midway.set()
        await poller.fetcher.aclose()
    assert held() == 0


async def test_a_fetched_archive_takes_its_unpacking_bound_from_the_budget_before_unpacking(
        feed_server: FeedServer, store: PollerStore) -> None:
    midway = threading.Event()
    feed_server.resources["/big.xml"] = Resource(feed_of(900_000, "big"), midway=midway)
    packed = gzip.compress(feed_of(400_000, "packed"))  # an agency's news.xml.gz, served as a file
    feed_server.resources["/news.xml.gz"] = Resource(packed, headers={"Content-Type": "application/gzip"})
    big = FeedConfig(id="big", url=feed_server.url("/big.xml"), interval=60)
    news = FeedConfig(id="news", url=feed_server.url("/news.xml.gz"), interval=60)
    published: list[RawItem] = []
    limits = FetchLimits(allow_private_networks=True, max_body_bytes=1_000_000, max_decompressed_bytes=1_000_000)
    poller = Poller([big, news], store, Fetcher(limits), published.extend, max_body_bytes_in_flight=1_400_000)
    poller.load_states()
    try:
        big_poll = asyncio.create_task(poller.poll(big))
        await eventually(lambda: held() >= 400_000, message="the big feed's first half read")
        # its few kB fit, but not the 1,000,001 bytes its document may unpack to
        assert (await poller.poll(news)).outcome == "over_budget"
        assert "1000001 more" in (poller.states["news"].last_error or "")
        midway.set()
        assert (await big_poll).outcome == "ok"
        assert (await poller.poll(news)).outcome == "ok"  # alone it fits, and gives back what it did not use
        assert held() == 0
        assert [item.item_id for item in published] == ["big:http://example.com/big", "news:http://example.com/packed"]
    finally:
        midway.set()
        await poller.fetcher.aclose()


async def test_a_spooled_file_takes_its_listed_size_before_it_is_read_and_gives_it_back_once_handled(
        feed_server: FeedServer, store: PollerStore, tmp_path: Path) -> None:
    midway = threading.Event()
    feed_server.resources["/big.xml"] = Resource(feed_of(900_000, "big"), midway=midway)
    spool_dir = tmp_path / "agency"
    spool_dir.mkdir()
    (spool_dir / "one.xml").write_bytes(feed_of(800_000, "one"))
    (spool_dir / "two.xml.gz").write_bytes(gzip.compress(feed_of(400_000, "two")))
    big = FeedConfig(id="big", url=feed_server.url("/big.xml"), interval=60)
    agency = FeedConfig(id="agency", url=spool_dir.as_uri() + "/", interval=60)
    published: list[RawItem] = []
    limits = FetchLimits(allow_private_networks=True, max_body_bytes=1_000_000, max_decompressed_bytes=1_000_000)
    poller = Poller([big, agency], store, Fetcher(limits), published.extend, max_body_bytes_in_flight=1_200_000,
                    spool_settle_seconds=0)
    poller.load_states()
    try:
        big_poll = asyncio.create_task(poller.poll(big))
        await eventually(lambda: held() >= 400_000, message="the big feed's first half read")
        assert (await poller.poll(agency)).outcome == "over_budget"
        one_xml = (spool_dir / "one.xml").stat().st_size
        assert f"{one_xml + 1} more" in (poller.states["agency"].last_error or "")  # its size, not the cap
        assert sorted(p.name for p in spool_dir.iterdir()) == ["one.xml", "two.xml.gz"]  # left for later
        midway.set()
        assert (await big_poll).outcome == "ok"
        # Alone, each file (and the bound of what the second unpacks) fits, but not the two held together:
        # each is given back once its items are published.
        assert (await poller.poll(agency)).outcome == "ok"
        assert held() == 0
        assert [item.title for item in published] == ["big", "one", "two"]
    finally:
        midway.set()
        await poller.fetcher.aclose()


async def test_a_spooled_file_grown_since_it_was_listed_counts_its_growth_once_read(
        store: PollerStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool_dir = tmp_path / "agency"
    spool_dir.mkdir()
    (spool_dir / "one.xml").write_bytes(feed_of(100_000, "one"))
    read = DirectorySpool.read

    async def grown_then_read(spool: DirectorySpool, file: SpooledFile, max_bytes: int) -> bytes:
        with file.path.open("ab") as handle:  # the agency appends after the listing
            handle.write(b" " * 500_000)
        return await read(spool, file, max_bytes)

    monkeypatch.setattr(DirectorySpool, "read", grown_then_read)
    agency = FeedConfig(id="agency", url=spool_dir.as_uri() + "/", interval=60)
    limits = FetchLimits(max_body_bytes=1_000_000, max_decompressed_bytes=1_000_000)
    published: list[RawItem] = []
    poller = Poller([agency], store, Fetcher(limits), published.extend, max_body_bytes_in_flight=400_000,
                    spool_settle_seconds=0)
    poller.load_states()
    try:
        assert (await poller.poll(agency)).outcome == "over_budget"  # ~100 kB listed fit; 600 kB do not
        assert "more would pass the poller's budget of 400000" in (poller.states["agency"].last_error or "")
        assert held() == 0 and not published and (spool_dir / "one.xml").exists()
    finally:
        await poller.fetcher.aclose()


def test_a_budget_too_small_for_one_poll_is_refused() -> None:
    one_poll = 2 * 64 * 2**20 + 16 * 2**20 + 1  # a body, what it unpacks, the next document's bound
    assert PollerSettings(max_decompressed_bytes=64 * 2**20, max_body_bytes=16 * 2**20,
                          max_body_bytes_in_flight=one_poll).max_body_bytes_in_flight == one_poll
    with pytest.raises(ValidationError, match="WIREFEED_MAX_BODY_BYTES_IN_FLIGHT"):
        PollerSettings(max_decompressed_bytes=64 * 2**20, max_body_bytes=16 * 2**20,
                       max_body_bytes_in_flight=one_poll - 1)
