"""Adaptive intervals learned from how often a feed carries new items, and the Expires header."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from schemas import RawItem
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.schedule import (
    ADAPTIVE_MAX_SECONDS,
    ADAPTIVE_MIN_SECONDS,
    adaptive_interval,
    expires_in,
    freshness_seconds,
    learn_item_gap,
)
from services.poller.service import Poller
from services.poller.state import PollerStore
from tests.helpers import FeedServer, Resource, rss

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_the_first_batch_only_starts_the_clock_and_later_gaps_are_averaged() -> None:
    assert learn_item_gap(None, None, NOW, new_items=20) is None  # a backlog says nothing about the rate
    first = learn_item_gap(None, NOW, later(600), new_items=2)
    assert first == 300
    smoothed = learn_item_gap(first, later(600), later(1200), new_items=1)
    assert smoothed is not None and 300 < smoothed < 600  # moves towards the new gap, not all the way
    assert learn_item_gap(300, NOW, later(60), new_items=0) == 300  # nothing new: nothing learned


def test_the_interval_is_half_the_gap_within_bounds_and_slows_down_when_the_feed_goes_quiet() -> None:
    assert adaptive_interval(None, None, NOW) is None
    assert adaptive_interval(600, NOW, later(10)) == 300
    assert adaptive_interval(10, NOW, later(1)) == ADAPTIVE_MIN_SECONDS
    assert adaptive_interval(10**6, NOW, later(1)) == ADAPTIVE_MAX_SECONDS
    assert adaptive_interval(600, NOW, later(7200)) == 3600  # two silent hours: poll hourly
    assert adaptive_interval(600, NOW, later(10), min_interval=400, max_interval=500) == 400


def test_expires_counts_from_the_servers_date_and_max_age_wins_over_it() -> None:
    date, expires = "Mon, 01 Jan 2024 12:00:00 GMT", "Mon, 01 Jan 2024 12:30:00 GMT"
    assert expires_in(expires, date, later(3600)) == 1800  # our clock is an hour off: the server's date rules
    assert expires_in(expires, None, NOW) == 1800
    assert expires_in("0", None, NOW) == 0.0  # invalid means already expired
    assert expires_in(None, None, NOW) is None
    assert freshness_seconds({"expires": expires, "date": date}, NOW) == 1800
    assert freshness_seconds({"expires": expires, "cache-control": "max-age=60"}, NOW) == 60


def story(n: int) -> dict[str, str]:
    return {"title": f"Story {n}", "link": f"http://example.com/{n}", "guid": f"s-{n}", "body": f"<p>{n}</p>"}


async def test_an_adaptive_feed_is_polled_at_the_pace_of_its_new_items(feed_server: FeedServer,
                                                                        store: PollerStore) -> None:
    clock = [NOW]
    feed = FeedConfig(id="pace", url=feed_server.url("/feed.xml"), interval=900, adaptive=True)  # type: ignore[arg-type]
    published: list[RawItem] = []
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend,
                    clock=lambda: clock[0], rng=random.Random(1))
    poller.load_states()
    waits = []
    for step, newest in enumerate([5, 7, 9, 11]):  # two new items every 20 minutes: one per 10 minutes
        clock[0] = later(step * 1200)
        feed_server.resources["/feed.xml"] = Resource(rss("Pace", [story(n) for n in range(newest, 0, -1)]))
        assert (await poller.poll(feed)).outcome == "ok"
        state = store.feed_state("pace", str(feed.url))
        assert state.next_attempt_at is not None
        waits.append((state.next_attempt_at - clock[0]).total_seconds())
    await poller.fetcher.aclose()
    assert 810 <= waits[0] <= 990  # nothing learned yet: the configured interval
    assert all(270 <= wait <= 330 for wait in waits[1:])  # a 600 s gap: polls every 300 s (±10% jitter)
    state = store.feed_state("pace", str(feed.url))
    assert state.mean_item_gap == pytest.approx(600)
    clock[0] = later(3 * 1200 + 7200)  # two quiet hours later the feed is unchanged
    poller2 = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend,
                     clock=lambda: clock[0], rng=random.Random(1))
    poller2.load_states()
    assert (await poller2.poll(feed)).outcome == "unchanged"
    await poller2.fetcher.aclose()
    quiet = store.feed_state("pace", str(feed.url))
    assert quiet.next_attempt_at is not None
    assert (quiet.next_attempt_at - clock[0]).total_seconds() >= 3600 * 0.9  # slowed down to about hourly
