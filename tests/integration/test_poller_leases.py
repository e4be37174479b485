"""Feed leases on both state databases: one holder at a time, due feeds only, take-over after the TTL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.core.db import Database
from services.poller.leases import LeaseStore, holders
from services.poller.state import FeedState, PollerStore

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
FEEDS = ["f1", "f2", "f3"]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=10)
    PollerStore(database).migrate()
    yield database
    database.close()


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def release(leases: LeaseStore, feed_id: str, now: datetime) -> None:
    with leases.db.transaction() as tx:
        leases.release_in(tx, [feed_id], now)


def test_a_feed_is_held_by_one_poller_and_handed_over_only_when_due(db: Database) -> None:
    a, b = LeaseStore(db, "a", ttl_seconds=30), LeaseStore(db, "b", ttl_seconds=30)
    a.ensure(FEEDS)
    b.ensure(FEEDS)  # idempotent
    assert a.claim_due(FEEDS, NOW) == set(FEEDS)
    assert b.claim_due(FEEDS, NOW) == set()
    PollerStore(db).save_feed_state(FeedState("f1", "http://x.example/1", next_attempt_at=at(60)))
    release(a, "f1", at(1))
    assert holders(db)["f1"] == ("", at(60))  # free, and due again at its next attempt
    assert b.claim_due(["f1"], at(2)) == set()
    assert b.claim_due(["f1"], at(61)) == {"f1"}


def test_a_feed_made_due_can_be_claimed_at_once_unless_it_is_being_polled(db: Database) -> None:
    a, b = LeaseStore(db, "a", ttl_seconds=30), LeaseStore(db, "b", ttl_seconds=30)
    a.ensure(FEEDS)
    assert a.claim_due(FEEDS, NOW) == set(FEEDS)
    PollerStore(db).save_feed_state(FeedState("f1", "http://x.example/1", next_attempt_at=at(3600)))
    release(a, "f1", at(1))  # free, due in an hour; f2 and f3 are still being polled by a
    b.make_due(FEEDS, at(2))
    assert holders(db)["f1"] == ("", at(2))
    assert holders(db)["f2"] == ("a", at(30))  # a poll in hand keeps its lease
    assert b.claim_due(FEEDS, at(3)) == {"f1"}


def test_leases_of_a_poller_that_stopped_renewing_are_taken_over_after_the_ttl(db: Database) -> None:
    a, b = LeaseStore(db, "a", ttl_seconds=30), LeaseStore(db, "b", ttl_seconds=30)
    a.ensure(FEEDS)
    assert a.claim_due(FEEDS, NOW) == set(FEEDS)
    assert a.renew(at(20)) == 3  # a is alive: its leases now run to 50 s
    assert b.claim_due(FEEDS, at(40)) == set()
    assert b.claim_due(FEEDS, at(51)) == set(FEEDS)  # a died after renewing at 20 s
    release(a, "f2", at(52))  # a late release from the old holder changes nothing
    assert holders(db)["f2"][0] == "b"


def test_a_push_takes_a_free_lease_early_but_never_one_another_poller_holds(db: Database) -> None:
    a, b = LeaseStore(db, "a", ttl_seconds=30), LeaseStore(db, "b", ttl_seconds=30)
    a.ensure(FEEDS)
    PollerStore(db).save_feed_state(FeedState("f1", "http://x.example/1", next_attempt_at=at(600)))
    assert a.claim_due(["f1"], NOW) == {"f1"}
    release(a, "f1", NOW)
    assert b.claim_now("f1", at(1))  # free although not due
    assert not a.claim_now("f1", at(2))  # b holds it
    release(b, "f1", at(3))
    assert holders(db)["f1"] == ("", at(600))  # back to its schedule


def test_pollers_racing_for_the_same_due_feeds_each_win_distinct_ones(db: Database) -> None:
    feeds = [f"feed-{n}" for n in range(200)]
    LeaseStore(db, "setup").ensure(feeds)
    won: dict[str, set[str]] = {}
    start = threading.Barrier(6)

    def race(owner: str) -> None:
        store = LeaseStore(db, owner)
        start.wait()
        won[owner] = set()
        for chunk in range(0, 200, 20):
            won[owner] |= store.claim_due(feeds[chunk:chunk + 20], NOW)

    threads = [threading.Thread(target=race, args=(f"p{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [feed for feeds_won in won.values() for feed in feeds_won]
    assert sorted(claimed) == sorted(feeds)  # every feed once, none twice
