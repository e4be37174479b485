"""Forgetting published items feeds stopped listing, on both state databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.core.db import Database, as_datetime
from services.poller.seen_retention import BATCH_ROWS, forget_unlisted_items
from services.poller.state import FailedFile, FeedState, PollerStore

DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
MONTH = timedelta(days=30)


@pytest.fixture
def store(database_url: str) -> Iterator[PollerStore]:
    database = Database(database_url)
    store = PollerStore(database)
    store.migrate()
    for feed_id in ("busy", "quiet"):
        store.save_feed_state(FeedState(feed_id, f"http://x.example/{feed_id}"))
    yield store
    database.close()


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def last_seen(store: PollerStore, feed_id: str, item_id: str) -> datetime | None:
    [(value,)] = store.db.query("SELECT last_seen_at FROM poller_seen_items WHERE feed_id = ? AND item_id = ?",
                                (feed_id, item_id))
    return as_datetime(value)


def test_an_item_is_forgotten_a_month_after_its_feed_last_listed_it(store: PollerStore) -> None:
    store.mark_published("busy", [("dropped", "h1"), ("kept", "h2")], day(0))
    store.mark_published("busy", [("new", "h3")], day(20), listed=["kept"])
    store.mark_published("busy", [("newer", "h4")], day(40), listed=["kept", "new"])
    store.mark_published("quiet", [("unchanged", "h5")], day(0))  # no change since: nothing to count from
    assert forget_unlisted_items(store, MONTH) == 1
    assert set(store.known_hashes("busy", ["dropped", "kept", "new", "newer"])) == {"kept", "new", "newer"}
    assert store.known_hashes("quiet", ["unchanged"]) == {"unchanged": "h5"}


def test_a_listed_item_is_written_at_most_once_a_day(store: PollerStore) -> None:
    store.mark_published("busy", [("a", "h")], day(0))
    store.mark_published("busy", [], day(0.5), listed=["a"])
    assert last_seen(store, "busy", "a") == day(0)
    store.mark_published("busy", [], day(1.5), listed=["a"])
    assert last_seen(store, "busy", "a") == day(1.5)


def test_a_feed_with_more_to_forget_than_a_batch_is_forgotten_whole(store: PollerStore) -> None:
    store.mark_published("busy", [(f"old-{n}", "h") for n in range(BATCH_ROWS * 2 + 7)], day(0))
    store.mark_published("busy", [("fresh", "h")], day(45))
    assert forget_unlisted_items(store, MONTH) == BATCH_ROWS * 2 + 7
    assert forget_unlisted_items(store, MONTH) == 0
    [(left,)] = store.db.query("SELECT COUNT(*) FROM poller_seen_items")
    assert left == 1


def test_a_feed_taken_out_of_the_feeds_file_can_be_forgotten_whole(store: PollerStore) -> None:
    store.mark_published("quiet", [(f"item-{n}", "h") for n in range(1203)], day(0))
    store.mark_published("busy", [("kept", "h")], day(0))
    assert store.forget_feed("quiet", batch_rows=500) == 1203
    assert store.feed_ids() == ["busy"]
    assert store.known_hashes("busy", ["kept"]) == {"kept": "h"}


def test_the_end_of_the_last_forgetting_pass_is_kept(store: PollerStore) -> None:
    assert store.last_forgetting_pass() is None
    store.record_forgetting_pass(day(1))
    store.record_forgetting_pass(day(2.5))
    assert store.last_forgetting_pass() == day(2.5)


def test_files_set_aside_are_listed_newest_first_and_forgotten_with_the_items(store: PollerStore) -> None:
    now = datetime.now(UTC)
    for feed_id, name, when in (("busy", "old.xml", now - 2 * MONTH), ("busy", "new.xml", now - timedelta(hours=1)),
                                ("quiet", "bad.zip", now - timedelta(hours=2))):
        store.record_failed_file(FailedFile(feed_id, name, f"FeedParseError: {name} is no feed", when))
    store.record_failed_file(FailedFile("busy", "new.xml", "FileTooLargeError: too large", now))  # failed again
    assert [(f.feed_id, f.name, f.reason) for f in store.failed_files()] == [
        ("busy", "new.xml", "FileTooLargeError: too large"), ("quiet", "bad.zip", "FeedParseError: bad.zip is no feed"),
        ("busy", "old.xml", "FeedParseError: old.xml is no feed")]
    assert [f.name for f in store.failed_files("quiet")] == ["bad.zip"]
    assert [f.name for f in store.failed_files(limit=1)] == ["new.xml"]
    forget_unlisted_items(store, MONTH)
    assert [f.name for f in store.failed_files()] == ["new.xml", "bad.zip"]
    store.forget_feed("quiet")
    assert [f.name for f in store.failed_files()] == ["new.xml"]
