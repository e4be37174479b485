"""The poller's decide step against a real HTTP server and a real SQLite state store.

The publisher here is a plain list: these tests are about what the poller decides to publish; the
Kafka path is covered in tests/integration.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import threading
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError

from schemas import RawItem
from services.core.db import Database
from services.normalizer.normalize import normalize
from services.poller import service
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.seen_retention import first_pass_delay, forget_forever, forget_unlisted_items
from services.poller.service import Poller
from services.poller.settings import PollerSettings
from services.poller.state import FeedState, PollerStore
from tests.helpers import FeedServer, Resource, eventually, rss

STORY = {"title": "Storm hits coast", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}
OTHER = {"title": "Markets rally", "link": "http://example.com/b", "guid": "b-1", "body": "<p>Up.</p>"}


class Published(list[RawItem]):
    fail = False

    def __call__(self, items: list[RawItem]) -> None:
        if self.fail:
            raise ConnectionError("broker unavailable")
        self.extend(items)


def make_poller(server: FeedServer, store: PollerStore, published: Published) -> tuple[Poller, FeedConfig]:
    feed = FeedConfig(id="coast", url=server.url("/feed.xml"), interval=60)
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    return Poller([feed], store, fetcher, published), feed


async def poll_once(server: FeedServer, store: PollerStore, published: Published) -> str:
    poller, feed = make_poller(server, store, published)
    poller.load_states()
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await poller.fetcher.aclose()


async def poll_each(store: PollerStore, *feeds: FeedConfig) -> Published:
    """Poll each feed once, in order, through one poller, each poll ending "ok"; what they published."""
    published = Published()
    poller = Poller(list(feeds), store, Fetcher(FetchLimits(allow_private_networks=True)), published)
    try:
        poller.load_states()
        for feed in feeds:
            assert (await poller.poll(feed)).outcome == "ok"
    finally:
        await poller.fetcher.aclose()
    return published


async def test_first_poll_publishes_every_item_with_a_stable_id(feed_server: FeedServer,
                                                                 store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY, OTHER]))
    published = Published()
    assert await poll_once(feed_server, store, published) == "ok"
    assert [item.item_id for item in published] == ["coast:a-1", "coast:b-1"]
    assert published[0].published_raw == "Mon, 01 Jan 2024 10:00:00 GMT"  # raw, for re-normalizing later
    assert published[0].summary_html == "<p>Rain.</p>"


async def test_an_unchanged_feed_publishes_nothing_even_after_a_restart(feed_server: FeedServer,
                                                                        store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]))
    published = Published()
    await poll_once(feed_server, store, published)
    assert await poll_once(feed_server, store, published) == "unchanged"  # same body, no ETag
    feed_server.resources["/feed.xml"].headers["ETag"] = '"v1"'
    feed_server.resources["/feed.xml"].body = rss("Coast", [STORY, STORY])  # new bytes, same items
    assert await poll_once(feed_server, store, published) == "ok"
    assert await poll_once(feed_server, store, published) == "not_modified"
    assert feed_server.requests[-1][1]["if-none-match"] == '"v1"'
    assert len(published) == 1


async def test_validators_with_bytes_beyond_ascii_go_back_as_they_came(feed_server: FeedServer,
                                                                       store: PollerStore) -> None:
    # An ETag made from a file's name, say; httpx sends header text as ASCII only, so every later poll of
    # the feed raised before its request left.
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]), headers={
        "ETag": '"café-1"', "Last-Modified": "Mon, 01 Déc 2025 10:00:00 GMT"})  # sent as Latin-1 bytes
    published = Published()
    assert await poll_once(feed_server, store, published) == "ok"
    assert await poll_once(feed_server, store, published) == "not_modified"
    assert feed_server.requests[-1][1]["if-none-match"] == '"café-1"'
    assert feed_server.requests[-1][1]["if-modified-since"] == "Mon, 01 Déc 2025 10:00:00 GMT"


async def test_an_unchanged_body_is_not_parsed_at_all(feed_server: FeedServer, store: PollerStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY, OTHER]))
    published = Published()
    await poll_once(feed_server, store, published)
    parsed: list[bytes] = []
    monkeypatch.setattr(service, "parse_document", lambda body, *args: parsed.append(body))
    assert await poll_once(feed_server, store, published) == "unchanged"
    assert parsed == [] and len(published) == 2


class SlowSeenItems(PollerStore):
    """A state database whose seen-items reads for the feed "slow" hang until released (a failover)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.entered, self.release = threading.Event(), threading.Event()

    def known_hashes(self, feed_id: str, item_ids: list[str]) -> dict[str, str]:
        if feed_id == "slow":
            self.entered.set()
            self.release.wait(10)
        return super().known_hashes(feed_id, item_ids)


async def test_a_slow_seen_items_read_stalls_its_own_poll_only(feed_server: FeedServer, db: Database) -> None:
    feed_server.resources["/slow.xml"] = Resource(rss("Slow", [STORY]))
    feed_server.resources["/fast.xml"] = Resource(rss("Fast", [OTHER]))
    slow = FeedConfig(id="slow", url=feed_server.url("/slow.xml"), interval=60)
    fast = FeedConfig(id="fast", url=feed_server.url("/fast.xml"), interval=60)
    store, published = SlowSeenItems(db), Published()
    poller = Poller([slow, fast], store, Fetcher(FetchLimits(allow_private_networks=True)), published)
    poller.load_states()
    try:
        slow_poll = asyncio.create_task(poller.poll(slow))
        await eventually(store.entered.is_set, message="the slow feed's seen-items read begun")
        assert (await asyncio.wait_for(poller.poll(fast), timeout=5)).outcome == "ok"
        assert not slow_poll.done() and [item.title for item in published] == ["Markets rally"]
        store.release.set()
        assert (await slow_poll).outcome == "ok"
        assert [item.title for item in published] == ["Markets rally", "Storm hits coast"]
    finally:
        store.release.set()
        await poller.fetcher.aclose()


async def test_an_edited_item_is_published_again(feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]))
    published = Published()
    await poll_once(feed_server, store, published)
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [{**STORY, "body": "<p>Rain, then wind.</p>"}]))
    await poll_once(feed_server, store, published)
    assert [item.item_id for item in published] == ["coast:a-1", "coast:a-1"]
    assert published[0].content_hash != published[1].content_hash


async def test_a_failed_publish_keeps_the_items_for_the_next_poll(feed_server: FeedServer,
                                                                  store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]), headers={"ETag": '"v1"'})
    published = Published()
    published.fail = True
    assert await poll_once(feed_server, store, published) == "publish_error"
    state = store.feed_state("coast", feed_server.url("/feed.xml"))
    assert state.consecutive_failures == 1 and state.etag is None  # validators not stored
    published.fail = False
    assert await poll_once(feed_server, store, published) == "ok"
    assert [item.item_id for item in published] == ["coast:a-1"]


async def test_errors_are_counted_and_backed_off_and_a_recovery_resets_them(feed_server: FeedServer,
                                                                            store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(b"oops", status=500)
    published = Published()
    assert await poll_once(feed_server, store, published) == "http_status"
    assert await poll_once(feed_server, store, published) == "http_status"
    state = store.feed_state("coast", feed_server.url("/feed.xml"))
    assert state.consecutive_failures == 2 and state.last_error == "http_status: HTTP 500"
    assert state.next_attempt_at is not None and state.last_attempt_at is not None
    assert state.next_attempt_at > state.last_attempt_at
    feed_server.resources["/feed.xml"] = Resource(rss("Coast", [STORY]))
    assert await poll_once(feed_server, store, published) == "ok"
    assert store.feed_state("coast", feed_server.url("/feed.xml")).consecutive_failures == 0


LONG_LABEL = "x" * 64  # one more than DNS allows: the IDNA codec refuses the name before any lookup


@pytest.mark.parametrize("location", [
    "http://feeds.test:99999/feed.xml",  # urllib: "Port out of range 0-65535"
    "http://xn--a.test:{port}/feed.xml",  # its label decodes to U+0080: httpx's IDNA decoding refuses it
    f"http://{LONG_LABEL}.test:{{port}}/feed.xml",
])
async def test_a_redirect_to_a_url_that_cannot_be_fetched_fails_the_poll_and_backs_off(
        feed_server: FeedServer, store: PollerStore, location: str) -> None:
    # Each escaped Poller.poll (poll_crashed): no backoff, no last_error, no fetch counted.
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    port = feed_server.url("").rsplit(":", 1)[1]
    feed_server.resources["/feed.xml"] = Resource(b"", status=302, headers={"Location": location.format(port=port)})
    feed = FeedConfig(id="coast", url=feed_server.url("/feed.xml").replace("127.0.0.1", "feeds.test"), interval=60)
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True), resolver=resolver), Published())
    poller.load_states()
    counted = REGISTRY.get_sample_value("wirefeed_poller_fetches_total", {"feed": "coast", "outcome": "invalid_url"})
    try:
        assert (await poller.poll(feed)).outcome == "invalid_url"
    finally:
        await poller.fetcher.aclose()
    state = store.feed_state("coast", str(feed.url))
    assert state.consecutive_failures == 1 and state.last_error is not None
    assert state.last_error.startswith("invalid_url: ")
    assert state.next_attempt_at is not None and state.last_attempt_at is not None
    assert state.next_attempt_at > state.last_attempt_at
    assert REGISTRY.get_sample_value("wirefeed_poller_fetches_total",
                                     {"feed": "coast", "outcome": "invalid_url"}) == (counted or 0) + 1
    assert looked_up == ["feeds.test"]  # the bad name was never handed to a resolver


async def test_a_document_that_is_no_feed_is_a_parse_error(feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(b"<html><body>Not a feed</body></html>",
                                                  headers={"Content-Type": "text/html"})
    assert await poll_once(feed_server, store, Published()) == "parse_error"


async def test_a_compressed_feed_served_as_a_file_is_read_as_its_document(feed_server: FeedServer,
                                                                          store: PollerStore) -> None:
    # news.xml.gz as a plain download: no Content-Encoding, so the HTTP client leaves it compressed.
    feed_server.resources["/feed.xml"] = Resource(gzip.compress(rss("Coast", [STORY, OTHER])),
                                                  headers={"Content-Type": "application/gzip"})
    published = Published()
    assert await poll_once(feed_server, store, published) == "ok"
    assert [item.item_id for item in published] == ["coast:a-1", "coast:b-1"]


async def test_an_archive_of_stories_served_as_a_file_is_read_document_by_document(feed_server: FeedServer,
                                                                                 store: PollerStore) -> None:
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("storm.xml", rss("Coast", [STORY]))
        archive.writestr("markets.xml", rss("Coast", [OTHER]))
    feed_server.resources["/feed.xml"] = Resource(bundle.getvalue(), headers={"Content-Type": "application/zip"})
    published = Published()
    assert await poll_once(feed_server, store, published) == "ok"
    assert sorted(item.item_id for item in published) == ["coast:a-1", "coast:b-1"]


async def test_a_compressed_body_past_the_decompressed_bound_is_a_parse_error(feed_server: FeedServer,
                                                                            store: PollerStore) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * (65 * 2**20))  # 65 MiB of spaces in about 64 kB
    feed_server.resources["/feed.xml"] = Resource(bomb, headers={"Content-Type": "application/gzip"})
    published = Published()
    assert await poll_once(feed_server, store, published) == "parse_error"
    assert not published
    assert "decompresses to more than" in (store.feed_state("coast", feed_server.url("/feed.xml")).last_error or "")


@pytest.mark.parametrize(("ttl", "cache_control"), [("1e300", "no-transform"), ("15", "max-age=999999999999999999")])
async def test_a_hint_no_date_can_hold_schedules_the_next_poll_within_a_day(feed_server: FeedServer,
                                                                            store: PollerStore, ttl: str,
                                                                            cache_control: str) -> None:
    # Either overflowed the next poll's date: the poll raised, and the feed was fetched again and again.
    body = rss("Coast", [STORY]).replace(b"<channel>", f"<channel><ttl>{ttl}</ttl>".encode(), 1)
    feed_server.resources["/feed.xml"] = Resource(body, headers={"Content-Type": "application/rss+xml",
                                                                 "Cache-Control": cache_control})
    assert await poll_once(feed_server, store, Published()) == "ok"
    state = store.feed_state("coast", feed_server.url("/feed.xml"))
    assert state.next_attempt_at is not None
    assert state.next_attempt_at - datetime.now(UTC) <= timedelta(days=1.1)


async def test_gone_feeds_are_marked_and_still_rechecked(feed_server: FeedServer, store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(b"", status=410)
    assert await poll_once(feed_server, store, Published()) == "gone"
    state = store.feed_state("coast", feed_server.url("/feed.xml"))
    assert state.gone and state.next_attempt_at is not None


async def test_items_the_feed_still_lists_outlive_forgetting_and_dropped_ones_go(feed_server: FeedServer,
                                                                                 store: PollerStore) -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    feed = FeedConfig(id="coast", url=feed_server.url("/feed.xml"), interval=60)
    published = Published()
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published,
                    clock=lambda: now[0])
    third = {**OTHER, "guid": "c-1", "title": "Third"}
    fourth = {**OTHER, "guid": "d-1", "title": "Fourth"}

    async def poll_at(day: int, items: list[dict[str, str]]) -> None:
        now[0] = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
        feed_server.resources["/feed.xml"] = Resource(rss("Coast", items))
        assert (await poller.poll(feed)).outcome == "ok"

    try:
        poller.load_states()
        await poll_at(0, [STORY, OTHER])
        await poll_at(40, [STORY, third])  # OTHER dropped; STORY, listed for 40 days, is still there
        assert forget_unlisted_items(store, timedelta(days=30)) == 1
        await poll_at(41, [STORY, third, fourth])
    finally:
        await poller.fetcher.aclose()
    assert [item.item_id for item in published] == ["coast:a-1", "coast:b-1", "coast:c-1", "coast:d-1"]
    assert store.known_hashes("coast", ["coast:b-1"]) == {}


async def forgotten_in_background(store: PollerStore, **schedule: float) -> None:
    """Start forget_forever on a feed with one item dropped long ago; return once it is forgotten."""
    store.save_feed_state(FeedState("coast", "http://x.example/feed"))
    day0 = datetime(2024, 1, 1, tzinfo=UTC)
    store.mark_published("coast", [("dropped", "h")], day0)
    store.mark_published("coast", [("new", "h")], day0 + timedelta(days=45))
    task = asyncio.create_task(forget_forever(store, timedelta(days=30), **schedule))
    try:
        await eventually(lambda: not store.known_hashes("coast", ["dropped"]) and store.last_forgetting_pass(),
                         timeout=10, message="a forgetting pass to end")
    finally:
        task.cancel()
    assert store.known_hashes("coast", ["new"]) == {"new": "h"}


async def test_the_running_poller_forgets_in_the_background(store: PollerStore) -> None:
    started = datetime.now(UTC)
    await forgotten_in_background(store, every=0.05, settle=0.05)
    last_pass = store.last_forgetting_pass()
    assert last_pass is not None and last_pass >= started - timedelta(seconds=1)


async def test_a_restarted_poller_forgets_when_the_last_pass_is_an_interval_old(store: PollerStore) -> None:
    # Restarts more often than the interval must not postpone forgetting for ever: the first pass is
    # scheduled from when the last one ended, not from this start.
    store.record_forgetting_pass(datetime.now(UTC) - timedelta(hours=2))
    await forgotten_in_background(store, every=3600, settle=0.05)


def test_the_first_pass_waits_for_the_interval_since_the_last_and_for_start_up_to_settle() -> None:
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert first_pass_delay(None, now, every=3600, settle=300) == 300  # never ran: soon after start
    assert first_pass_delay(now - timedelta(minutes=20), now, every=3600, settle=300) == 2400
    assert first_pass_delay(now - timedelta(minutes=59), now, every=3600, settle=300) == 300
    assert first_pass_delay(now - timedelta(days=3), now, every=3600, settle=300) == 300


def test_a_retention_shorter_than_the_daily_refresh_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 2 days"):
        PollerSettings(seen_items_retention_days=1)
    assert PollerSettings(seen_items_retention_days=0).seen_items_retention_days == 0


async def test_items_the_feed_rules_refuse_are_not_published_nor_looked_at_again(feed_server: FeedServer,
                                                                                 store: PollerStore) -> None:
    feed = FeedConfig.model_validate({"id": "coast", "url": feed_server.url("/feed.xml"),
                                      "skip_items": [{"title": "(?i)^sponsored"}]})
    published = Published()
    poller = Poller([feed], store, Fetcher(FetchLimits(allow_private_networks=True)), published)
    advert = {**OTHER, "guid": "ad-1", "title": "Sponsored: cruise deals"}
    def skipped() -> float:
        return REGISTRY.get_sample_value("wirefeed_poller_items_skipped_total", {"feed": "coast"}) or 0.0

    before = skipped()

    async def poll(items: list[dict[str, str]]) -> None:
        feed_server.resources["/feed.xml"] = Resource(rss("Coast", items))
        assert (await poller.poll(feed)).outcome == "ok"

    try:
        poller.load_states()
        await poll([STORY, advert])
        await poll([STORY, advert, OTHER])  # the advert is not weighed again
        await poll([STORY, {**advert, "title": "Cruise deals"}, OTHER])  # edited so that the rule lets it by
    finally:
        await poller.fetcher.aclose()
    assert [(item.item_id, item.title) for item in published] == [
        ("coast:a-1", "Storm hits coast"), ("coast:b-1", "Markets rally"), ("coast:ad-1", "Cruise deals")]
    assert skipped() - before == 1


async def test_the_feeds_file_names_the_source_over_the_feed_s_own_title(feed_server: FeedServer,
                                                                        store: PollerStore) -> None:
    feed_server.resources["/feed.xml"] = Resource(rss("RSS0.92 Example", [STORY]))
    named = FeedConfig(id="coast", url=feed_server.url("/feed.xml"), title="Coast Desk")
    unnamed = FeedConfig(id="other", url=feed_server.url("/feed.xml"))
    published = await poll_each(store, named, unnamed)
    assert [(item.feed_id, item.feed_title) for item in published] == [
        ("coast", "Coast Desk"), ("other", "RSS0.92 Example")]


async def test_a_feed_marked_as_an_agency_s_wire_says_so_on_its_items(feed_server: FeedServer,
                                                                      store: PollerStore) -> None:
    # The normalizer reads the mark from the item: the agency's own kill must reach the whole story.
    feed_server.resources["/feed.xml"] = Resource(rss("RSS0.92 Example", [STORY]))
    marked = FeedConfig(id="reuters-wire", url=feed_server.url("/feed.xml"), agency="Reuters")
    unmarked = FeedConfig(id="outlet", url=feed_server.url("/feed.xml"))
    published = await poll_each(store, marked, unmarked)
    assert [(item.feed_id, item.feed_agency) for item in published] == [("reuters-wire", "Reuters"), ("outlet", None)]


async def test_a_feed_s_time_zone_goes_on_its_items_and_the_normalizer_reads_their_local_times_in_it(
        feed_server: FeedServer, store: PollerStore) -> None:
    # A regional site's local time, a summer date written without a zone; the feeds file says where it is.
    local = {**STORY, "date": "2024-07-15 09:15"}
    feed_server.resources["/feed.xml"] = Resource(rss("RSS0.92 Example", [local]))
    berlin = FeedConfig(id="berlin", url=feed_server.url("/feed.xml"), timezone="Europe/Berlin")
    unzoned = FeedConfig(id="outlet", url=feed_server.url("/feed.xml"))
    published = await poll_each(store, berlin, unzoned)
    assert [(item.feed_id, item.feed_timezone) for item in published] == [("berlin", "Europe/Berlin"), ("outlet", None)]
    read = [normalize(RawItem.from_json(item.to_bytes()), datetime(2024, 8, 1, tzinfo=UTC)).published_at
            for item in published]  # as the normalizer gets it, through the topic's JSON
    assert read == [datetime(2024, 7, 15, 7, 15, tzinfo=UTC), datetime(2024, 7, 15, 9, 15, tzinfo=UTC)]
