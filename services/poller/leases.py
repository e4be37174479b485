"""Feed leases in the state database: several pollers split the feed set without polling a feed twice.

One row per feed in ``poller_leases(feed_id, owner, expires_at)``. A poller *claims* the feeds it
believes due with one atomic ``UPDATE … WHERE expires_at <= now OR owner = me``; the database lets one
claimant win. It renews its leases while polling and *releases* each when done: owner emptied and
``expires_at`` set to the feed's next attempt, so the same condition means "due". A poller that dies
holds its leases until they expire (the TTL), then the others take them over: a feed is polled again
at most one TTL after its due time, whatever happened to the poller that had it.

Time is each poller's own clock (UTC); hosts sharing a state database should run NTP.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.core.db import Database, Tx, as_datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 500


def default_owner() -> str:
    """host-pid-random: unique per process, readable in ``wirefeed feeds status``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class LeaseStore:
    def __init__(self, db: Database, owner: str, ttl_seconds: float = 30.0) -> None:
        self.db = db
        self.owner = owner
        self.ttl = timedelta(seconds=ttl_seconds)

    def ensure(self, feed_ids: list[str]) -> None:
        """A lease row per feed, first due at the feed's stored next attempt (or at once)."""
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO poller_leases (feed_id, owner, expires_at) VALUES (?, '', COALESCE("
                "(SELECT next_attempt_at FROM poller_feeds WHERE feed_id = ?), ?)) ON CONFLICT (feed_id) DO NOTHING",
                [(feed_id, feed_id, EPOCH) for feed_id in feed_ids],
            )

    def make_due(self, feed_ids: list[str], now: datetime) -> None:
        """Make these feeds claimable now, unless a poller is polling one (it gives it back when done)."""
        with self.db.transaction() as tx:
            tx.executemany(
                "UPDATE poller_leases SET expires_at = ? WHERE feed_id = ? AND owner = '' AND expires_at > ?",
                [(now, feed_id, now) for feed_id in feed_ids],
            )

    def claim_due(self, feed_ids: list[str], now: datetime) -> set[str]:
        """Of these feeds, the ones this poller now holds: due (or abandoned) ones, or its own."""
        claimed: set[str] = set()
        for start in range(0, len(feed_ids), _CHUNK):
            chunk = feed_ids[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            with self.db.transaction() as tx:
                rows = tx.execute(
                    f"UPDATE poller_leases SET owner = ?, expires_at = ? WHERE feed_id IN ({marks}) "
                    "AND (expires_at <= ? OR owner = ?) RETURNING feed_id",
                    (self.owner, now + self.ttl, *chunk, now, self.owner),
                ).fetchall()
            claimed.update(str(row[0]) for row in rows)
        return claimed

    def claim_now(self, feed_id: str, now: datetime) -> bool:
        """Hold a feed whether due or not (a WebSub push, ``--once``), unless another poller holds it."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE poller_leases SET owner = ?, expires_at = ? WHERE feed_id = ? "
                "AND (owner = '' OR owner = ? OR expires_at <= ?) RETURNING feed_id",
                (self.owner, now + self.ttl, feed_id, self.owner, now),
            ).fetchall()
        return bool(rows)

    def renew(self, now: datetime) -> int:
        """Extend every lease this poller holds (all of them are polls in flight); returns how many."""
        with self.db.transaction() as tx:
            return tx.execute("UPDATE poller_leases SET expires_at = ? WHERE owner = ?",
                              (now + self.ttl, self.owner)).rowcount

    def release_in(self, tx: Tx, feed_ids: Sequence[str], now: datetime) -> None:
        """Give feeds back, each claimable again at its next attempt as saved in ``poller_feeds``, within
        a transaction of the caller's: the one that saves their states (``loop.PendingWrites``)."""
        tx.executemany(
            "UPDATE poller_leases SET owner = '', expires_at = COALESCE("
            "(SELECT next_attempt_at FROM poller_feeds WHERE feed_id = ?), ?) WHERE feed_id = ? AND owner = ?",
            [(feed_id, now, feed_id, self.owner) for feed_id in feed_ids],
        )

    def expiries(self, feed_ids: list[str]) -> dict[str, datetime]:
        """When each of these feeds can next be claimed (due, or its holder's lease runs out)."""
        found: dict[str, datetime] = {}
        for start in range(0, len(feed_ids), _CHUNK):
            chunk = feed_ids[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for feed_id, expires_at in self.db.query(
                    f"SELECT feed_id, expires_at FROM poller_leases WHERE feed_id IN ({marks})", chunk):
                found[str(feed_id)] = as_datetime(expires_at) or EPOCH
        return found


def holders(db: Database) -> dict[str, tuple[str, datetime | None]]:
    """Every feed's lease: (owner or '', expires_at), for ``wirefeed feeds status``."""
    return {str(feed_id): (str(owner), as_datetime(expires_at))
            for feed_id, owner, expires_at in db.query("SELECT feed_id, owner, expires_at FROM poller_leases")}
