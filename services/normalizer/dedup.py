"""Exact deduplication and story versions, durable and safe across normalizer replicas.

An article claims fingerprints (its normalised content, its canonical URL) with INSERT ... ON CONFLICT
DO NOTHING inside one transaction, so when two replicas race for the same content exactly one wins:
the database decides, not the replicas' memories. Claims remember the claiming article, which makes a
redelivered message (after a crash between claim and produce) republish instead of vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from schemas import Article
from services.core.db import Database, Tx


class Verdict(StrEnum):
    NEW = "new"                    # first time: publish
    NEW_VERSION = "new_version"    # an edit of a story already seen: publish as version n+1
    REDELIVERED = "redelivered"    # decided before but maybe not produced: publish again (idempotent)
    DUPLICATE = "duplicate"        # the same content or URL as another article: count, drop


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    article: Article
    reason: str | None = None
    duplicate_of: str | None = None

    @property
    def publish(self) -> bool:
        return self.verdict is not Verdict.DUPLICATE


class DedupStore:
    def __init__(self, db: Database, window: timedelta = timedelta(days=7)) -> None:
        self.db = db
        self.window = window

    def migrate(self) -> None:
        self.db.migrate("normalizer", "services.normalizer")

    def decide(self, article: Article, now: datetime) -> Decision:
        with self.db.transaction() as tx:
            return self._decide(tx, article, now)

    def mark_published(self, article_ids: list[str]) -> None:
        with self.db.transaction() as tx:
            tx.executemany("UPDATE dedup_articles SET published = ? WHERE article_id = ?",
                           [(True, article_id) for article_id in article_ids])

    def purge(self, now: datetime) -> int:
        """Forget claims older than the window, keeping memory and tables bounded."""
        cutoff = now - self.window
        with self.db.transaction() as tx:
            removed = tx.execute("DELETE FROM dedup_fingerprints WHERE created_at < ?", (cutoff,)).rowcount
            removed += tx.execute("DELETE FROM dedup_articles WHERE created_at < ?", (cutoff,)).rowcount
        return removed

    def _decide(self, tx: Tx, article: Article, now: datetime) -> Decision:
        known = tx.execute("SELECT story_id, version, published FROM dedup_articles WHERE article_id = ?",
                           (article.id,)).fetchone()
        if known is not None:
            story_id, version, published = str(known[0]), int(str(known[1])), bool(known[2])
            decided = article.model_copy(update={"story_id": story_id, "version": version})
            if published:
                return Decision(Verdict.DUPLICATE, decided, "repeat", duplicate_of=article.id)
            return Decision(Verdict.REDELIVERED, decided)
        owner = self._claim(tx, "content", article.content_hash, article, now)
        if owner is not None:
            return Decision(Verdict.DUPLICATE, article, "same_content", duplicate_of=owner[0])
        if article.canonical_url:
            owner = self._claim(tx, "url", article.canonical_url, article, now)
            if owner is not None and owner[1] != article.story_id:
                return Decision(Verdict.DUPLICATE, article, "same_url", duplicate_of=owner[0])
        return self._add_version(tx, article, now)

    def _claim(self, tx: Tx, kind: str, fingerprint: str, article: Article,
               now: datetime) -> tuple[str, str] | None:
        """Claim a fingerprint; return the (article_id, story_id) of an earlier owner, if another."""
        inserted = tx.execute(
            "INSERT INTO dedup_fingerprints (kind, fingerprint, article_id, story_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, fingerprint) DO NOTHING",
            (kind, fingerprint, article.id, article.story_id, now),
        ).rowcount
        if inserted:
            return None
        row = tx.execute("SELECT article_id, story_id FROM dedup_fingerprints WHERE kind = ? AND fingerprint = ?",
                         (kind, fingerprint)).fetchone()
        if row is None or row[0] == article.id:
            return None
        return str(row[0]), str(row[1])

    def _add_version(self, tx: Tx, article: Article, now: datetime) -> Decision:
        row = tx.execute("SELECT MAX(version) FROM dedup_articles WHERE story_id = ?",
                         (article.story_id,)).fetchone()
        previous = int(str(row[0])) if row and row[0] is not None else 0
        version = max(previous + 1, article.version if previous == 0 else 0)
        tx.execute("INSERT INTO dedup_articles (article_id, story_id, version, published, created_at) "
                   "VALUES (?, ?, ?, ?, ?)", (article.id, article.story_id, version, False, now))
        verdict = Verdict.NEW_VERSION if previous else Verdict.NEW
        return Decision(verdict, article.model_copy(update={"version": version}))
