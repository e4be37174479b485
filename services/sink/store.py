"""Article storage with the consumer offsets kept beside the rows (SQLite and PostgreSQL).

``write(batch, offsets)`` stores the articles *and* the next offset of every partition in one
transaction. Whatever crashes when, storage and offsets agree; on restart the sink resumes from the
stored offsets, so no article is lost and none is written twice (Kafka's documented pattern for
exactly-once delivery into an outside store).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from schemas import Article
from services.core.db import Database, Tx

OffsetKey = tuple[str, int]


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    skipped: int


class Store(Protocol):
    def migrate(self) -> None: ...
    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime) -> WriteResult: ...
    def offsets(self, topic: str) -> dict[int, int]: ...
    def export(self, since: datetime | None = None, feed_id: str | None = None,
               story_id: str | None = None) -> Iterator[Article]: ...
    def count(self) -> int: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


class SqlStore:
    """One implementation for both dialects; the SQL differs only where the engines do (FTS)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def migrate(self) -> None:
        self.db.migrate("sink", "services.sink")

    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime) -> WriteResult:
        with self.db.transaction() as tx:
            inserted = self._insert_articles(tx, articles, now)
            self._update_stories(tx, articles, now)
            tx.executemany(
                "INSERT INTO sink_offsets (topic, partition, next_offset, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, "
                "updated_at = excluded.updated_at",
                [(topic, partition, offset, now) for (topic, partition), offset in offsets.items()],
            )
        return WriteResult(inserted=inserted, skipped=len(articles) - inserted)

    def offsets(self, topic: str) -> dict[int, int]:
        rows = self.db.query("SELECT partition, next_offset FROM sink_offsets WHERE topic = ?", (topic,))
        return {int(partition): int(offset) for partition, offset in rows}

    def export(self, since: datetime | None = None, feed_id: str | None = None,
               story_id: str | None = None) -> Iterator[Article]:
        clauses, params = _filters(since, feed_id, story_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.query(f"SELECT payload FROM articles {where} ORDER BY published_at, article_id", params)
        for (payload,) in rows:
            yield _article(payload)

    def count(self) -> int:
        row = self.db.query("SELECT COUNT(*) FROM articles")
        return int(row[0][0])

    def ping(self) -> bool:
        return self.db.ping()

    def close(self) -> None:
        self.db.close()

    def _insert_articles(self, tx: Tx, articles: list[Article], now: datetime) -> int:
        inserted = 0
        for article in articles:
            inserted += tx.execute(
                "INSERT INTO articles (article_id, story_id, version, feed_id, url, canonical_url, title, "
                "body_text, language, published_at, fetched_at, stored_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (article_id) DO NOTHING",
                (article.id, article.story_id, article.version, article.feed_id, article.url,
                 article.canonical_url, article.title, article.body_text, article.language,
                 article.published_at, article.fetched_at, now, article.model_dump_json()),
            ).rowcount
        return inserted

    def _update_stories(self, tx: Tx, articles: list[Article], now: datetime) -> None:
        tx.executemany(
            "INSERT INTO stories (story_id, latest_article_id, latest_version, first_stored_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (story_id) DO UPDATE SET "
            "latest_article_id = CASE WHEN excluded.latest_version > stories.latest_version "
            "THEN excluded.latest_article_id ELSE stories.latest_article_id END, "
            "latest_version = CASE WHEN excluded.latest_version > stories.latest_version "
            "THEN excluded.latest_version ELSE stories.latest_version END, "
            "updated_at = excluded.updated_at",
            [(a.story_id, a.id, a.version, now, now) for a in articles],
        )


def _filters(since: datetime | None, feed_id: str | None, story_id: str | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("published_at >= ?")
        params.append(since)
    if feed_id is not None:
        clauses.append("feed_id = ?")
        params.append(feed_id)
    if story_id is not None:
        clauses.append("story_id = ?")
        params.append(story_id)
    return clauses, params


def _article(payload: Any) -> Article:
    if isinstance(payload, (dict, list)):
        return Article.model_validate(payload)
    return Article.model_validate(json.loads(payload))
