"""The poller's metrics as Prometheus scrapes them: outcomes, durations, bytes, items, per-feed health, and
what WirefeedFeedStale compares, read from the state database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas import RawItem
from services.core.db import Database
from services.poller import metrics
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.leases import LeaseStore
from services.poller.loop import PollLoop
from services.poller.service import Poller, polling_interval
from services.poller.state import FeedState, PollerStore
from tests.helpers import FeedServer, Resource, rss

STORY = {"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_every_poll_outcome_and_feed_health_is_exported(feed_server: FeedServer, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    paths = {"fresh": Resource(rss("F", [STORY]), headers={"ETag": '"1"'}), "same": Resource(rss("S", [STORY])),
             "broken": Resource(b"", status=503), "closed": Resource(b"", status=410)}
    feeds = []
    for name, resource in paths.items():
        feed_server.resources[f"/{name}.xml"] = resource
        feeds.append(FeedConfig(id=f"{name}-{run}", url=feed_server.url(f"/{name}.xml")))  # type: ignore[arg-type]
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    store = PollerStore(db)
    store.migrate()
    published: list[RawItem] = []
    poller = Poller(feeds, store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend)
    poller.load_states()
    before = scrape()
    for _ in range(2):
        for feed in feeds:
            await poller.poll(feed)
    await poller.fetcher.aclose()
    db.close()
    after = scrape()

    def value(name: str, **labels: str) -> float:
        return after.get((name, tuple(sorted(labels.items()))), 0.0)

    fetches = "wirefeed_poller_fetches_total"
    assert value(fetches, feed=f"fresh-{run}", outcome="ok") == 1
    assert value(fetches, feed=f"fresh-{run}", outcome="not_modified") == 1
    assert value(fetches, feed=f"same-{run}", outcome="unchanged") == 1
    assert value(fetches, feed=f"broken-{run}", outcome="http_status") == 2
    assert value(fetches, feed=f"closed-{run}", outcome="gone") == 2
    assert value("wirefeed_poller_fetched_bytes_total", feed=f"fresh-{run}") == len(paths["fresh"].body)
    assert value("wirefeed_poller_items_published_total", feed=f"same-{run}") == 1
    assert value("wirefeed_poller_last_success_timestamp_seconds", feed=f"fresh-{run}") > 1.7e9
    assert value("wirefeed_poller_consecutive_failures", feed=f"broken-{run}") == 2
    assert [value("wirefeed_poller_feeds", state=s) for s in ("ok", "backing_off", "gone")] == [2, 1, 1]
    polls = after[("wirefeed_poller_fetch_duration_seconds_count", ())]
    assert polls - before.get(("wirefeed_poller_fetch_duration_seconds_count", ()), 0) == 8


def restarted(feeds: list[FeedConfig], store: PollerStore, clock: Callable[[], datetime]) -> Poller:
    """A new poller on the same state database, as after a restart: the old process's series are gone."""
    for feed in feeds:
        metrics.forget_feed(feed.id)
    poller = Poller(feeds, store, Fetcher(FetchLimits(allow_private_networks=True)), lambda _: None, clock=clock)
    poller.load_states()
    return poller


def gauge(name: str, feed: str) -> float | None:
    return REGISTRY.get_sample_value(f"wirefeed_poller_{name}", {"feed": feed})


async def test_a_restarted_poller_exports_each_feeds_last_success_and_first_attempt_from_its_state(
        feed_server: FeedServer, store: PollerStore) -> None:
    # WirefeedFeedStale compares these: set only by a success in the running process, a feed failing since
    # a restart (or failing from the start) had none, and could never alert.
    run = uuid.uuid4().hex[:6]
    feed_server.resources["/was-up.xml"] = Resource(rss("W", [STORY]))
    feed_server.resources["/never-up.xml"] = Resource(b"", status=503)
    feeds = [FeedConfig(id=f"{name}-{run}", url=feed_server.url(f"/{name}.xml"), interval=600)  # type: ignore[arg-type]
             for name in ("was-up", "never-up")]
    was_up, never_up = (feed.id for feed in feeds)
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    first = restarted(feeds, store, lambda: now[0])
    for feed in feeds:
        await first.poll(feed)
    await first.fetcher.aclose()
    polled_at = now[0].timestamp()
    feed_server.resources["/was-up.xml"] = Resource(b"", status=503)  # fails from now on

    now[0] += timedelta(hours=1)
    second = restarted(feeds, store, lambda: now[0])
    assert gauge("last_success_timestamp_seconds", was_up) == polled_at
    assert gauge("first_attempt_timestamp_seconds", was_up) is None
    assert gauge("last_success_timestamp_seconds", never_up) is None  # never succeeded: no success to show
    assert gauge("first_attempt_timestamp_seconds", never_up) == polled_at
    assert [gauge("feed_interval_seconds", fid) for fid in (was_up, never_up)] == [600, 600]
    for feed in feeds:
        await second.poll(feed)  # both fail again: neither moves
    assert gauge("last_success_timestamp_seconds", was_up) == polled_at
    assert gauge("first_attempt_timestamp_seconds", never_up) == polled_at  # the first attempt, not the latest

    feed_server.resources["/never-up.xml"] = Resource(rss("N", [STORY]))
    await second.poll(feeds[1])
    await second.fetcher.aclose()
    assert gauge("last_success_timestamp_seconds", never_up) == now[0].timestamp()
    assert gauge("first_attempt_timestamp_seconds", never_up) is None  # succeeded: its last success counts


def answer(ttl: str = "", **headers: str) -> Resource:
    """A feed served with these hints: an RSS ttl element, response headers."""
    body = rss("T", [STORY]).replace(b"<channel>", f"<channel>{ttl}".encode())
    return Resource(body, headers={"Content-Type": "application/rss+xml", **headers})


@pytest.mark.parametrize(("hinted", "bounds", "waits"), [
    (answer("<ttl>60</ttl>"), {}, 3600),  # RSS ttl, in minutes
    (answer(**{"Cache-Control": "max-age=7200"}), {}, 7200),
    (answer(**{"Cache-Control": "max-age=7200"}), {"max_interval": 900}, 900),  # the feed's bound wins
    (answer(**{"Cache-Control": "max-age=60"}), {}, 300),  # a hint never shortens the interval
    (answer(**{"Cache-Control": "max-age=999999"}), {}, 86400),  # nor stretches it past a day
])
async def test_the_exported_interval_is_the_one_the_scheduler_waits_and_survives_a_restart(
        feed_server: FeedServer, store: PollerStore, hinted: Resource, bounds: dict[str, float], waits: float) -> None:
    # A healthy feed whose hint stretched its polls past three configured intervals fired WirefeedFeedStale.
    run = uuid.uuid4().hex[:6]
    feed_server.resources["/hinted.xml"] = hinted
    feed = FeedConfig(id=f"hinted-{run}", url=feed_server.url("/hinted.xml"), interval=300, **bounds)  # type: ignore[arg-type]
    now = datetime(2030, 1, 1, tzinfo=UTC)
    poller = restarted([feed], store, lambda: now)
    await poller.poll(feed)
    await poller.fetcher.aclose()
    scheduled = (poller.states[feed.id].next_attempt_at - now).total_seconds()  # type: ignore[operator]
    assert gauge("feed_interval_seconds", feed.id) == waits
    assert waits * 0.9 <= scheduled <= waits * 1.1  # what the scheduler waits, give or take the jitter
    restarted([feed], store, lambda: now + timedelta(hours=5))
    assert gauge("feed_interval_seconds", feed.id) == waits


def test_an_adaptive_feeds_interval_is_the_one_learned_at_its_last_success(store: PollerStore) -> None:
    run = uuid.uuid4().hex[:6]
    feed = FeedConfig(id=f"adaptive-{run}", url="http://adaptive.example/feed.xml", interval=300,  # type: ignore[arg-type]
                      adaptive=True)
    success = datetime(2030, 1, 1, tzinfo=UTC)
    store.save_feed_state(FeedState(feed.id, str(feed.url), last_success_at=success, mean_item_gap=1200,
                                    last_new_item_at=success - timedelta(minutes=10)))
    restarted([feed], store, lambda: success + timedelta(days=2))  # not its silence since: what it waits now
    assert gauge("feed_interval_seconds", feed.id) == polling_interval(feed, store.feed_state(feed.id, str(feed.url)),
                                                                        success) == 600


async def test_a_feed_added_by_a_reload_exports_what_another_poller_stored_before_its_own_poll(
        store: PollerStore, db: Database) -> None:
    run = uuid.uuid4().hex[:6]
    kept, added = (FeedConfig(id=f"{name}-{run}", url=f"http://{name}.example/feed.xml", interval=60)  # type: ignore[arg-type]
                   for name in ("kept", "added"))
    success = datetime(2030, 1, 1, tzinfo=UTC)
    store.save_feed_state(FeedState(added.id, str(added.url), last_success_at=success, hinted_wait=1800))
    loop = PollLoop(restarted([kept], store, lambda: success), LeaseStore(db, "me"))
    loop.apply_feeds([kept, added])  # due at once; its series are there before any poll of its own
    await loop.poller.fetcher.aclose()
    assert gauge("last_success_timestamp_seconds", added.id) == success.timestamp()
    assert gauge("feed_interval_seconds", added.id) == 1800
