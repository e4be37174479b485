"""The poller's durable state: per-feed validators and health, and the items already published.

Kept in the same database family as the sink (SQLite embedded, PostgreSQL shared), so a restarted
poller (or a second one) neither republishes an unchanged item nor forgets a feed's backoff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from services.core.db import Database, Tx, as_datetime
from services.core.text import storable


class MissedPage(NamedTuple):
    """An older page that failed during a poll, to be read again at later ones."""

    url: str
    since: datetime  # when it first failed


class FailedFile(NamedTuple):
    """A spooled file set aside, and why."""

    feed_id: str
    name: str
    reason: str
    failed_at: datetime


@dataclass(frozen=True)
class FeedState:
    feed_id: str
    url: str
    effective_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    gone: bool = False
    mean_item_gap: float | None = None  # seconds between new items, learned (EWMA) for adaptive polling
    last_new_item_at: datetime | None = None
    missed_pages: tuple[MissedPage, ...] = ()  # oldest first
    # The first poll at this URL: a feed never polled successfully is stale counted from it.
    first_attempt_at: datetime | None = None
    # Seconds the last successful poll's server or document asked to be left alone (Hints.wait), which
    # stretched the wait after it: kept so that the interval exported after a restart is the one it waited.
    hinted_wait: float | None = None

    def but(self, **changes: object) -> FeedState:
        return replace(self, **changes)  # type: ignore[arg-type]


_FEED_COLUMNS = ("feed_id, url, effective_url, etag, last_modified, body_hash, last_success_at, last_attempt_at, "
                 "next_attempt_at, consecutive_failures, last_error, gone, mean_item_gap_seconds, last_new_item_at, "
                 "missed_pages, first_attempt_at, hinted_wait_seconds")
_SAVE_FEED_STATE = (
    f"INSERT INTO poller_feeds ({_FEED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (feed_id) DO UPDATE SET url = excluded.url, "
    "effective_url = excluded.effective_url, etag = excluded.etag, "
    "last_modified = excluded.last_modified, body_hash = excluded.body_hash, "
    "last_success_at = excluded.last_success_at, last_attempt_at = excluded.last_attempt_at, "
    "next_attempt_at = excluded.next_attempt_at, "
    "consecutive_failures = excluded.consecutive_failures, last_error = excluded.last_error, "
    "gone = excluded.gone, mean_item_gap_seconds = excluded.mean_item_gap_seconds, "
    "last_new_item_at = excluded.last_new_item_at, missed_pages = excluded.missed_pages, "
    "first_attempt_at = excluded.first_attempt_at, hinted_wait_seconds = excluded.hinted_wait_seconds"
)
_CHUNK = 500
# How stale an item's last_seen_at may get while its feed still lists it: a retention shorter than
# this would forget listed items.
LISTED_RESOLUTION = timedelta(days=1)


class PollerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def migrate(self) -> None:
        self.db.migrate("poller", "services.poller")

    def feed_state(self, feed_id: str, url: str) -> FeedState:
        rows = self.db.query(f"SELECT {_FEED_COLUMNS} FROM poller_feeds WHERE feed_id = ?", (feed_id,))
        return _reconcile(_feed_state(rows[0]) if rows else None, feed_id, url)

    def feed_states(self, feeds: dict[str, str]) -> dict[str, FeedState]:
        """States of many feeds (feed id -> configured URL) in a few queries."""
        found: dict[str, FeedState] = {}
        ids = list(feeds)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in self.db.query(f"SELECT {_FEED_COLUMNS} FROM poller_feeds WHERE feed_id IN ({marks})", chunk):
                found[str(row[0])] = _feed_state(row)
        return {feed_id: _reconcile(found.get(feed_id), feed_id, url) for feed_id, url in feeds.items()}

    def all_feed_states(self) -> list[FeedState]:
        return [_feed_state(row) for row in self.db.query(f"SELECT {_FEED_COLUMNS} FROM poller_feeds")]

    def save_feed_state(self, state: FeedState) -> None:
        with self.db.transaction() as tx:
            self.save_feed_states_in(tx, [state])

    @staticmethod
    def save_feed_states_in(tx: Tx, states: Sequence[FeedState]) -> None:
        """Save feed states within a transaction of the caller's (the one that gives their leases back)."""
        tx.executemany(_SAVE_FEED_STATE, [_feed_row(state) for state in states])

    def known_hashes(self, feed_id: str, item_ids: list[str]) -> dict[str, str]:
        """Content hash last published for each of these items that was published before."""
        known: dict[str, str] = {}
        for start in range(0, len(item_ids), _CHUNK):
            chunk = item_ids[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for item_id, content_hash in self.db.query(
                f"SELECT item_id, content_hash FROM poller_seen_items WHERE feed_id = ? AND item_id IN ({marks})",
                (feed_id, *chunk),
            ):
                known[str(item_id)] = str(content_hash)
        return known

    def mark_published(self, feed_id: str, items: list[tuple[str, str]], now: datetime,
                       listed: Sequence[str] = ()) -> None:
        """Record the items just published, and that the ``listed`` ones (published before) are still in
        the feed: their ``last_seen_at`` moves at most once a day, so a feed's unchanged items cost no
        writes at every change of its body."""
        stale = now - LISTED_RESOLUTION
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO poller_seen_items (feed_id, item_id, content_hash, first_seen_at, last_published_at, "
                "last_seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (feed_id, item_id) DO UPDATE SET "
                "content_hash = excluded.content_hash, last_published_at = excluded.last_published_at, "
                "last_seen_at = excluded.last_seen_at",
                [(feed_id, item_id, content_hash, now, now, now) for item_id, content_hash in items],
            )
            for start in range(0, len(listed), _CHUNK):
                chunk = listed[start:start + _CHUNK]
                tx.execute(
                    "UPDATE poller_seen_items SET last_seen_at = ? WHERE feed_id = ? AND last_seen_at < ? "
                    f"AND item_id IN ({', '.join('?' * len(chunk))})",
                    (now, feed_id, stale, *chunk),
                )

    def forget_unlisted(self, feed_id: str, age: timedelta, batch_rows: int = 500,
                        stopping: Callable[[], bool] = lambda: False) -> int:
        """Delete the feed's items that it has not listed for ``age`` before the last time it listed
        anything; returns how many. Measured from the feed's own last listing, not from now: a feed that
        failed or did not change for months keeps its items, which its next good body may still list."""
        [(last_listing,)] = self.db.query("SELECT MAX(last_seen_at) FROM poller_seen_items WHERE feed_id = ?",
                                          (feed_id,))
        newest = as_datetime(last_listing)
        return 0 if newest is None else self._delete_items(feed_id, newest - age, batch_rows, stopping)

    def forget_feed(self, feed_id: str, batch_rows: int = 500) -> int:
        """Delete everything the poller keeps of a feed (its items, then its schedule, validators and
        lease); returns the items forgotten. For a feed no longer configured anywhere: if it is added
        again, it starts as a new feed."""
        forgotten = self._delete_items(feed_id, None, batch_rows)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM poller_failed_files WHERE feed_id = ?", (feed_id,))
            tx.execute("DELETE FROM poller_leases WHERE feed_id = ?", (feed_id,))
            tx.execute("DELETE FROM poller_feeds WHERE feed_id = ?", (feed_id,))
        return forgotten

    def _delete_items(self, feed_id: str, listed_before: datetime | None, batch_rows: int,
                      stopping: Callable[[], bool] = lambda: False) -> int:
        """Delete a feed's items (those last listed before ``listed_before``, or all) in batches of one
        short transaction each, so the poll loop's writes get in between; ``stopping`` ends it early."""
        condition, params = ("AND last_seen_at < ? ", (listed_before,)) if listed_before else ("", ())
        deleted = 0
        while not stopping():
            with self.db.transaction() as tx:
                batch = tx.execute(
                    "DELETE FROM poller_seen_items WHERE (feed_id, item_id) IN (SELECT feed_id, item_id "
                    f"FROM poller_seen_items WHERE feed_id = ? {condition}LIMIT ?)",
                    (feed_id, *params, batch_rows)).rowcount
            deleted += batch
            if batch < batch_rows:
                break
        return deleted

    def record_failed_file(self, file: FailedFile) -> None:
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO poller_failed_files (feed_id, name, reason, failed_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (feed_id, name) DO UPDATE SET reason = excluded.reason, "
                       "failed_at = excluded.failed_at",
                       (file.feed_id, storable(file.name), storable(file.reason), file.failed_at))

    def forget_failed_file(self, feed_id: str, name: str) -> None:
        """A file read fine after it had failed (moved back, or changed on the server) has no failure left."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM poller_failed_files WHERE feed_id = ? AND name = ?", (feed_id, storable(name)))

    def failed_files(self, feed_id: str | None = None, limit: int = 100) -> list[FailedFile]:
        """The files set aside most recently (of one feed, or of all), newest first."""
        condition, params = ("WHERE feed_id = ? ", (feed_id,)) if feed_id else ("", ())
        rows = self.db.query("SELECT feed_id, name, reason, failed_at FROM poller_failed_files "
                             f"{condition}ORDER BY failed_at DESC, feed_id, name LIMIT ?", (*params, limit))
        return [FailedFile(str(feed), str(name), str(reason), as_datetime(at) or datetime.min)
                for feed, name, reason, at in rows]

    def forget_failed_files(self, before: datetime) -> int:
        with self.db.transaction() as tx:
            return int(tx.execute("DELETE FROM poller_failed_files WHERE failed_at < ?", (before,)).rowcount)

    def last_forgetting_pass(self) -> datetime | None:
        """When the last complete pass forgetting unlisted items ended, by any poller."""
        rows = self.db.query("SELECT ended_at FROM poller_forgetting_passes WHERE id = 1")
        return as_datetime(rows[0][0]) if rows else None

    def record_forgetting_pass(self, ended_at: datetime) -> None:
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO poller_forgetting_passes (id, ended_at) VALUES (1, ?) "
                       "ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at", (ended_at,))

    def feed_ids(self) -> list[str]:
        return [str(fid) for (fid,) in self.db.query("SELECT feed_id FROM poller_feeds ORDER BY feed_id")]


def _feed_row(state: FeedState) -> tuple[object, ...]:
    return (state.feed_id, state.url, state.effective_url, state.etag, state.last_modified, state.body_hash,
            state.last_success_at, state.last_attempt_at, state.next_attempt_at,
            state.consecutive_failures, state.last_error and storable(state.last_error), state.gone,
            state.mean_item_gap, state.last_new_item_at,
            json.dumps([[p.url, p.since.isoformat()] for p in state.missed_pages]),
            state.first_attempt_at, state.hinted_wait)


def _feed_state(row: tuple[object, ...]) -> FeedState:
    return FeedState(
        feed_id=str(row[0]),
        url=str(row[1]),
        effective_url=_opt(row[2]),
        etag=_opt(row[3]),
        last_modified=_opt(row[4]),
        body_hash=_opt(row[5]),
        last_success_at=as_datetime(row[6]),
        last_attempt_at=as_datetime(row[7]),
        next_attempt_at=as_datetime(row[8]),
        consecutive_failures=int(str(row[9] or 0)),
        last_error=_opt(row[10]),
        gone=bool(row[11]),
        mean_item_gap=None if row[12] is None else float(str(row[12])),
        last_new_item_at=as_datetime(row[13]),
        missed_pages=tuple(MissedPage(url, datetime.fromisoformat(since)) for url, since in json.loads(str(row[14]))),
        first_attempt_at=as_datetime(row[15]),
        hinted_wait=None if row[16] is None else float(str(row[16])),
    )


def _reconcile(stored: FeedState | None, feed_id: str, url: str) -> FeedState:
    if stored is None:
        return FeedState(feed_id=feed_id, url=url)
    if stored.url != url:  # the feeds file now names another URL: it wins over old redirects
        return FeedState(feed_id=feed_id, url=url, next_attempt_at=stored.next_attempt_at)
    return stored


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
