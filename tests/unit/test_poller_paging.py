"""RFC 5005 paged feeds: a burst larger than one page is read across pages, within a bound, losing nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape
from ipaddress import ip_network

import pytest
import structlog
from prometheus_client import REGISTRY

from schemas import RawItem
from services.poller.backfill import backfill_feeds
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.service import MAX_MISSED_PAGES, MISSED_PAGE_MAX_AGE, Poller
from services.poller.state import MissedPage, PollerStore
from tests.helpers import FeedServer, Resource


def atom_page(server: FeedServer, numbers: list[int], next_path: str | None) -> Resource:
    """An Atom page holding entries ``numbers`` (newest first), linking to the next (older) page."""
    entries = "".join(
        f"<entry><id>urn:item:{n}</id><title>Item {n}</title><link href='http://example.com/{n}'/>"
        f"<updated>2024-01-01T10:00:00Z</updated><summary>{escape(f'<p>{n}</p>')}</summary></entry>"
        for n in numbers)
    link = f"<link rel='next' href='{server.url(next_path)}'/>" if next_path else ""
    body = (f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><id>urn:feed</id><title>Paged</title>"
            f"<updated>2024-01-01T10:00:00Z</updated>{link}{entries}</feed>")
    return Resource(body.encode(), headers={"Content-Type": "application/atom+xml"})


def serve(server: FeedServer, newest: int, per_page: int = 10, pages: int = 3) -> None:
    """Items newest..1 split over ``pages`` pages of ``per_page`` (the last page takes the rest)."""
    numbers = list(range(newest, 0, -1))
    paths = ["/feed.xml"] + [f"/feed.xml?page={n}" for n in range(2, pages + 1)]
    for index, path in enumerate(paths):
        chunk = numbers[index * per_page:] if index == pages - 1 else numbers[index * per_page:(index + 1) * per_page]
        server.resources[path] = atom_page(server, chunk, paths[index + 1] if index + 1 < pages else None)


async def poll(server: FeedServer, store: PollerStore, published: list[RawItem], max_pages: int = 10, *,
               now: datetime | None = None, body_budget: int = 2**30) -> str:
    feed = FeedConfig(id="paged", url=server.url("/feed.xml"))  # type: ignore[arg-type]
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend,
                    max_pages=max_pages, clock=(lambda: now) if now else None, max_body_bytes_in_flight=body_budget)
    poller.load_states()
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await poller.fetcher.aclose()


async def first_poll(server: FeedServer, store: PollerStore, now: datetime | None = None) -> None:
    """The feed's first poll, while it holds no items: later polls follow next pages during bursts."""
    server.resources["/feed.xml"] = atom_page(server, [], None)
    assert await poll(server, store, [], now=now) == "ok"


def numbers(items: list[RawItem]) -> list[int]:
    return sorted(int(item.item_id.rsplit(":", 1)[1]) for item in items)


async def test_a_burst_larger_than_a_page_is_read_from_the_following_pages(feed_server: FeedServer,
                                                                          store: PollerStore) -> None:
    serve(feed_server, newest=5, pages=1)
    published: list[RawItem] = []
    assert await poll(feed_server, store, published) == "ok"
    serve(feed_server, newest=30)  # 25 new items: page 1 and 2 entirely new, page 3 reaches the known ones
    assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == list(range(1, 31))  # nothing lost, nothing twice
    del feed_server.requests[:]
    serve(feed_server, newest=34)  # a small burst: page 1 already holds known items, so it is enough
    assert await poll(feed_server, store, published) == "ok"
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]
    assert numbers(published) == list(range(1, 35))


async def test_a_feed_allowed_its_private_network_reads_its_pages_there_and_other_feeds_stay_refused(
        feed_server: FeedServer, store: PollerStore) -> None:
    # WIREFEED_ALLOW_PRIVATE_NETWORKS off. The pages link to another origin on the same network (localhost):
    # fetched without credentials, and under the feed's allowance all the same.
    intranet = FeedConfig(id="paged", url=feed_server.url("/feed.xml"),  # type: ignore[arg-type]
                          private_networks=[ip_network("127.0.0.0/8"), ip_network("::1/128")])
    other = FeedConfig(id="other", url=feed_server.url("/other.xml"))  # type: ignore[arg-type]
    published: list[RawItem] = []
    poller = Poller([intranet, other], store, Fetcher(FetchLimits()), published.extend)
    poller.load_states()
    try:
        feed_server.resources["/feed.xml"] = atom_page(feed_server, [], None)
        assert (await poller.poll(intranet)).outcome == "ok"  # the first poll takes the first page only
        serve(feed_server, newest=30)
        for page in feed_server.resources.values():
            page.body = page.body.replace(b"http://127.0.0.1:", b"http://localhost:")
        feed_server.resources["/other.xml"] = atom_page(feed_server, [99], None)
        assert (await poller.poll(intranet)).outcome == "ok"
        assert (await poller.poll(other)).outcome == "blocked_address"
    finally:
        await poller.fetcher.aclose()
    assert numbers(published) == list(range(1, 31))
    assert [path for path, _ in feed_server.requests] == [
        "/feed.xml", "/feed.xml", "/feed.xml?page=2", "/feed.xml?page=3"]  # nothing of the other feed's
    assert store.feed_state("other", feed_server.url("/other.xml")).last_error == (
        "blocked_address: 127.0.0.1 resolves to a non-public address 127.0.0.1")


async def test_a_first_poll_reads_the_first_page_only(feed_server: FeedServer, store: PollerStore) -> None:
    serve(feed_server, newest=30)  # older pages are history: feeds backfill reads them on request
    published: list[RawItem] = []
    assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == list(range(21, 31))
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]


async def test_paging_stops_at_the_bound_and_says_so(feed_server: FeedServer, store: PollerStore) -> None:
    await first_poll(feed_server, store)
    serve(feed_server, newest=30)
    published: list[RawItem] = []
    with structlog.testing.capture_logs() as logs:
        assert await poll(feed_server, store, published, max_pages=2) == "ok"
    assert numbers(published) == list(range(11, 31))
    assert any(entry["event"] == "feed_paging_truncated" for entry in logs)


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(f"wirefeed_poller_{name}", {"feed": "paged"}) or 0.0


def missed(server: FeedServer, store: PollerStore) -> tuple[str, ...]:
    return tuple(page.url for page in store.feed_state("paged", server.url("/feed.xml")).missed_pages)


async def page_2_missed(server: FeedServer, store: PollerStore, status: int = 503) -> list[RawItem]:
    """A burst of 30 items whose page 2 answers ``status``: the poll succeeds; what it published."""
    await first_poll(server, store)
    serve(server, newest=30)
    server.resources["/feed.xml?page=2"] = Resource(b"failing", status=status)
    published: list[RawItem] = []
    assert await poll(server, store, published) == "ok"  # the feed itself is fine
    return published


async def test_a_failing_page_holds_nothing_back_and_is_read_once_it_answers(feed_server: FeedServer,
                                                                            store: PollerStore) -> None:
    skipped = counted("pages_skipped_total")
    with structlog.testing.capture_logs() as logs:
        published = await page_2_missed(feed_server, store)
    assert numbers(published) == list(range(21, 31))  # page 1 at once, not after the page comes back
    assert any(entry["event"] == "feed_page_skipped" for entry in logs)
    assert counted("pages_skipped_total") == skipped + 1
    assert store.feed_state("paged", feed_server.url("/feed.xml")).consecutive_failures == 0
    assert missed(feed_server, store) == (feed_server.url("/feed.xml?page=2"),)
    assert counted("missed_pages") == 1
    assert await poll(feed_server, store, published) == "unchanged"  # still busy: kept for later
    assert numbers(published) == list(range(21, 31))
    assert missed(feed_server, store) == (feed_server.url("/feed.xml?page=2"),)
    recovered = counted("pages_recovered_total")
    serve(feed_server, newest=30)  # page 2 answers again; the feed's own page is unchanged
    with structlog.testing.capture_logs() as logs:
        assert await poll(feed_server, store, published) == "unchanged"
    assert numbers(published) == list(range(1, 31))  # pages 2 and 3 now, nothing twice
    assert any(entry["event"] == "feed_page_recovered" and entry["published"] == 20 for entry in logs)
    assert counted("pages_recovered_total") == recovered + 1
    assert (missed(feed_server, store), counted("missed_pages")) == ((), 0)
    del feed_server.requests[:]
    assert await poll(feed_server, store, published) == "unchanged"
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]  # nothing left to read again


async def test_a_page_past_the_body_budget_is_left_for_later_polls_not_lost(feed_server: FeedServer,
                                                                           store: PollerStore) -> None:
    await first_poll(feed_server, store)
    serve(feed_server, newest=30)
    first_page = len(feed_server.resources["/feed.xml"].body)
    published: list[RawItem] = []
    assert await poll(feed_server, store, published, body_budget=first_page + 100) == "ok"
    assert numbers(published) == list(range(21, 31))
    assert missed(feed_server, store) == (feed_server.url("/feed.xml?page=2"),)
    assert await poll(feed_server, store, published) == "unchanged"  # with room: read at the next poll
    assert numbers(published) == list(range(1, 31))
    assert missed(feed_server, store) == ()


async def test_pages_missed_by_two_bursts_are_both_read_once_they_answer(feed_server: FeedServer,
                                                                         store: PollerStore) -> None:
    published = await page_2_missed(feed_server, store)
    # A second burst, whose own older page (items 31-35) fails too, while page 2 is still busy.
    feed_server.resources["/feed.xml"] = atom_page(feed_server, list(range(45, 35, -1)), "/archive?before=36")
    feed_server.resources["/archive?before=36"] = Resource(b"busy", status=503)
    assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == [*range(21, 31), *range(36, 46)]
    assert missed(feed_server, store) == (feed_server.url("/feed.xml?page=2"), feed_server.url("/archive?before=36"))
    serve(feed_server, newest=30)  # pages 2 and 3 answer again
    feed_server.resources["/feed.xml"] = atom_page(feed_server, list(range(45, 35, -1)), "/archive?before=36")
    feed_server.resources["/archive?before=36"] = atom_page(feed_server, list(range(35, 30, -1)), None)
    assert await poll(feed_server, store, published) == "unchanged"
    assert numbers(published) == list(range(1, 46))  # nothing lost, nothing twice
    assert missed(feed_server, store) == ()


async def test_a_page_the_server_says_does_not_exist_is_lost_at_once(feed_server: FeedServer,
                                                                     store: PollerStore) -> None:
    lost = counted("pages_lost_total")
    with structlog.testing.capture_logs() as logs:
        published = await page_2_missed(feed_server, store, 404)  # a stale next link
    assert numbers(published) == list(range(21, 31))
    assert any(entry["event"] == "feed_page_lost" for entry in logs)
    assert (counted("pages_lost_total"), missed(feed_server, store)) == (lost + 1, ())


async def test_a_missed_page_that_turns_out_not_to_exist_is_forgotten(feed_server: FeedServer,
                                                                      store: PollerStore) -> None:
    published = await page_2_missed(feed_server, store)
    feed_server.resources["/feed.xml?page=2"] = Resource(b"gone", status=410)
    with structlog.testing.capture_logs() as logs:
        assert await poll(feed_server, store, published) == "unchanged"
    assert any(entry["event"] == "feed_page_lost" for entry in logs)
    assert missed(feed_server, store) == ()
    del feed_server.requests[:]
    await poll(feed_server, store, published)
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]


async def test_a_page_that_is_not_a_feed_is_lost_at_once(feed_server: FeedServer, store: PollerStore) -> None:
    await first_poll(feed_server, store)
    serve(feed_server, newest=30)  # a "load more" link to a web page: reading it again would not help
    feed_server.resources["/feed.xml?page=2"] = Resource(b"<!doctype html><p>More stories", status=200,
                                                         headers={"Content-Type": "text/html"})
    published: list[RawItem] = []
    with structlog.testing.capture_logs() as logs:
        assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == list(range(21, 31))
    assert any(entry["event"] == "feed_page_lost" for entry in logs)
    assert missed(feed_server, store) == ()


@pytest.mark.parametrize("port", ["99999", "9x"])
async def test_a_next_link_whose_port_cannot_be_read_is_lost_and_the_first_page_published(
        feed_server: FeedServer, store: PollerStore, port: str) -> None:
    # It raised ValueError out of Poller.poll at every poll after the first: the burst was never published.
    await first_poll(feed_server, store)
    serve(feed_server, newest=30)
    page, link = feed_server.resources["/feed.xml"], feed_server.url("/feed.xml?page=2")
    bad = link.replace(feed_server.url("").rsplit(":", 1)[1], port)  # http://127.0.0.1:99999/feed.xml?page=2
    feed_server.resources["/feed.xml"] = replace(page, body=page.body.replace(link.encode(), bad.encode()))
    published: list[RawItem] = []
    lost = counted("pages_lost_total")
    with structlog.testing.capture_logs() as logs:
        assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == list(range(21, 31))
    [(url, error)] = [(entry["url"], entry["error"]) for entry in logs if entry["event"] == "feed_page_lost"]
    assert url == bad and error.startswith("unreadable URL: Port")
    assert (counted("pages_lost_total"), missed(feed_server, store)) == (lost + 1, ())  # never asked again
    assert store.feed_state("paged", feed_server.url("/feed.xml")).consecutive_failures == 0


async def test_a_page_unread_for_a_week_is_lost_without_asking_again(feed_server: FeedServer,
                                                                     store: PollerStore) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    await first_poll(feed_server, store, now=start)
    serve(feed_server, newest=30)
    feed_server.resources["/feed.xml?page=2"] = Resource(b"busy", status=503)
    published: list[RawItem] = []
    assert await poll(feed_server, store, published, now=start) == "ok"
    assert await poll(feed_server, store, published, now=start + MISSED_PAGE_MAX_AGE) == "unchanged"
    assert missed(feed_server, store) == (feed_server.url("/feed.xml?page=2"),)  # a week: still tried
    del feed_server.requests[:]
    with structlog.testing.capture_logs() as logs:
        await poll(feed_server, store, published, now=start + MISSED_PAGE_MAX_AGE + timedelta(minutes=1))
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]
    assert any(entry["event"] == "feed_page_lost" and "unread since" in entry["error"] for entry in logs)
    assert missed(feed_server, store) == ()


def test_pages_waiting_beyond_the_bound_are_lost_oldest_first(store: PollerStore) -> None:
    feed = FeedConfig(id="paged", url="https://example.com/feed.xml")  # type: ignore[arg-type]
    poller = Poller([feed], store, Fetcher(FetchLimits()), lambda items: None)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    pages = [MissedPage(f"https://example.com/feed.xml?page={n}", t0 + timedelta(minutes=n))
             for n in range(2, MAX_MISSED_PAGES + 4)]
    state = store.feed_state("paged", str(feed.url)).but(missed_pages=tuple(pages[:MAX_MISSED_PAGES]))
    again = pages[5]._replace(since=t0 + timedelta(days=1))  # missed once more: keeps its first time
    lost = counted("pages_lost_total")
    with structlog.testing.capture_logs() as logs:
        state = poller._with_missed(feed, state, [again, *pages[MAX_MISSED_PAGES:]], structlog.get_logger())
    assert state.missed_pages == tuple(pages[2:])
    assert [entry["url"] for entry in logs if entry["event"] == "feed_page_lost"] == [p.url for p in pages[:2]]
    assert counted("pages_lost_total") == lost + 2
    store.save_feed_state(state)
    assert store.feed_state("paged", str(feed.url)).missed_pages == tuple(pages[2:])


async def test_a_next_link_that_loops_back_is_not_followed_again(feed_server: FeedServer, store: PollerStore) -> None:
    await first_poll(feed_server, store)
    del feed_server.requests[:]
    feed_server.resources["/feed.xml"] = atom_page(feed_server, [2, 1], "/feed.xml?page=2")
    feed_server.resources["/feed.xml?page=2"] = atom_page(feed_server, [4, 3], "/feed.xml")
    published: list[RawItem] = []
    assert await poll(feed_server, store, published) == "ok"
    assert numbers(published) == [1, 2, 3, 4]
    assert len(feed_server.requests) == 2


async def test_backfill_reads_the_archive_pages_a_regular_poll_left_and_adds_nothing_twice(
        feed_server: FeedServer, store: PollerStore) -> None:
    serve(feed_server, newest=30)
    published: list[RawItem] = []
    assert await poll(feed_server, store, published, max_pages=1) == "ok"  # a regular poll: page one only
    assert len(published) == 10
    feed = FeedConfig(id="paged", url=feed_server.url("/feed.xml"))  # type: ignore[arg-type]
    for _ in range(2):  # the second backfill finds nothing new
        poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published.extend,
                        max_pages=10, backfill=True)
        try:
            outcomes = await backfill_feeds([feed], poller, show_progress=False)
        finally:
            await poller.fetcher.aclose()
        assert [o.outcome for o in outcomes] == ["ok"]
    assert sorted(int(item.item_id.rsplit(":", 1)[1]) for item in published) == list(range(1, 31))
