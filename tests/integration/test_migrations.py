"""Migrations on a real database, including several processes starting at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from services.core.config import SessionOptions
from services.core.db import Database, _migration_files
from services.poller.state import PollerStore
from tests.helpers import wait_for

COMPONENTS = [("poller", "services.poller"), ("normalizer", "services.normalizer"), ("sink", "services.sink")]


def test_every_component_migrates_once_when_all_start_together(database_url: str) -> None:
    databases = [Database(database_url) for _ in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            applied = list(pool.map(lambda pair: pair[0].migrate(*pair[1]),
                                    zip(databases, COMPONENTS * 2, strict=True)))
        assert sorted(len(versions) for versions in applied).count(0) == 3  # the second of each pair: nothing
        rows = databases[0].query("SELECT component, COUNT(*) FROM schema_migrations GROUP BY component")
        assert {component for component, _ in rows} == {"poller", "normalizer", "sink"}
    finally:
        for db in databases:
            db.close()


def test_a_page_remembered_before_the_list_of_missed_pages_is_kept(database_url: str) -> None:
    """0005 turns the one remembered page (0004) into the list: a poller upgraded mid-outage still reads it."""
    db = Database(database_url)
    try:
        with db.transaction() as tx:  # the poller's schema as of 0004, with a remembered page
            tx.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
                       "PRIMARY KEY (component, version))")
            for version, sql in _migration_files("services.poller", db.dialect):
                if version <= 4:
                    db._run_script(tx, sql)
                    tx.execute("INSERT INTO schema_migrations (component, version) VALUES ('poller', ?)", (version,))
            tx.executemany("INSERT INTO poller_feeds (feed_id, url, missed_page_url) VALUES (?, ?, ?)",
                           [("a", "https://a.example/feed", "https://a.example/feed?page=2"),
                            ("b", "https://b.example/feed", None)])
        store = PollerStore(db)
        before = datetime.now(UTC)
        assert 5 in db.migrate("poller", "services.poller")
        (page,) = store.feed_state("a", "https://a.example/feed").missed_pages
        assert page.url == "https://a.example/feed?page=2"
        assert before - timedelta(seconds=1) <= page.since <= datetime.now(UTC)  # failing since the upgrade
        assert store.feed_state("b", "https://b.example/feed").missed_pages == ()
    finally:
        db.close()


def test_feeds_polled_before_0009_keep_what_their_staleness_is_measured_by(database_url: str) -> None:
    """0009 stores a feed's first attempt and its last success's hinted wait: feeds stored before it take
    their latest attempt, and the wait their last success set, so the upgrade's restart neither hides a
    feed that never succeeded nor shows one polled hourly for its ttl as stale."""
    db = Database(database_url)
    success = datetime(2030, 1, 1, tzinfo=UTC)
    try:
        with db.transaction() as tx:  # the poller's schema as of 0008
            tx.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
                       "PRIMARY KEY (component, version))")
            for version, sql in _migration_files("services.poller", db.dialect):
                if version <= 8:
                    db._run_script(tx, sql)
                    tx.execute("INSERT INTO schema_migrations (component, version) VALUES ('poller', ?)", (version,))
            tx.executemany(
                "INSERT INTO poller_feeds (feed_id, url, last_success_at, last_attempt_at, next_attempt_at, "
                "consecutive_failures) VALUES (?, ?, ?, ?, ?, ?)",
                [("hourly", "https://a.example/feed", success, success, success + timedelta(seconds=3600 * 1.08), 0),
                 ("failing", "https://b.example/feed", success - timedelta(days=1), success,
                  success + timedelta(seconds=1200), 2),
                 ("never", "https://c.example/feed", None, success, success + timedelta(seconds=600), 1)])
        store = PollerStore(db)
        assert 9 in db.migrate("poller", "services.poller")
        hourly, failing, never = (store.feed_state(fid, f"https://{host}.example/feed")
                                  for fid, host in (("hourly", "a"), ("failing", "b"), ("never", "c")))
        assert [state.first_attempt_at for state in (hourly, failing, never)] == [success] * 3
        assert hourly.hinted_wait == pytest.approx(3600 * 1.08 / 0.9)  # at least the hour it was waiting
        assert failing.hinted_wait is None and never.hinted_wait is None  # their next attempt is a back-off's
    finally:
        db.close()


@pytest.mark.postgres
def test_a_process_starting_during_a_long_migration_waits_for_it(postgres_url: str) -> None:
    """The lock timeout that keeps replicas from waiting on each other's rows does not apply to the
    migration lock: another process's migration (an index on a big table) may rightly take minutes."""
    migrating, starting = Database(postgres_url), Database(postgres_url, session=SessionOptions(lock_timeout=0.2))
    try:
        with ThreadPoolExecutor(1) as pool, migrating.transaction() as tx:
            migrating._lock_migrations(tx)
            waiting = pool.submit(starting.migrate, "sink", "services.sink")
            wait_for(lambda: _waiting_on_a_lock_for_over(migrating, seconds=1), message="a migration waiting")
        assert waiting.result(timeout=60)  # applied, once the other let go
    finally:
        migrating.close()
        starting.close()


def _waiting_on_a_lock_for_over(db: Database, seconds: float) -> bool:
    rows = db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND clock_timestamp() - query_start > make_interval(secs => ?)", (seconds,))
    return bool(rows)
