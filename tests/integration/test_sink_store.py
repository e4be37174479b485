"""The sink's store on real SQLite and real PostgreSQL: rows and offsets move together."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.core.db import Database
from services.sink.store import SqlStore
from tests.factories import T0, article

TOPIC = "wirefeed.articles.v1"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(Database(database_url))
    store.migrate()
    yield store
    store.close()


def test_rows_and_offsets_are_written_together(store: SqlStore) -> None:
    result = store.write([article(1), article(2)], {(TOPIC, 0): 2, (TOPIC, 3): 7}, datetime.now(UTC))
    assert (result.inserted, result.skipped) == (2, 0)
    assert store.offsets(TOPIC) == {0: 2, 3: 7}
    assert [a.id for a in store.export()] == ["article-000001", "article-000002"]


def test_writing_the_same_articles_again_stores_nothing_twice(store: SqlStore) -> None:
    store.write([article(1), article(2)], {(TOPIC, 0): 2}, datetime.now(UTC))
    result = store.write([article(2), article(3)], {(TOPIC, 0): 4}, datetime.now(UTC))
    assert (result.inserted, result.skipped) == (1, 1)
    assert store.count() == 3
    assert store.offsets(TOPIC) == {0: 4}


def test_a_failed_transaction_stores_neither_rows_nor_offsets(store: SqlStore) -> None:
    store.write([article(1)], {(TOPIC, 0): 1}, datetime.now(UTC))
    with pytest.raises(Exception):  # noqa: B017  # the engine's own integrity error
        store.write([article(2)], {(TOPIC, 0): None}, datetime.now(UTC))  # type: ignore[dict-item]
    assert store.count() == 1
    assert store.offsets(TOPIC) == {0: 1}


def test_stories_keep_every_version_and_point_at_the_latest(store: SqlStore) -> None:
    store.write([article(1, story="s"), article(3, story="s", version=3)], {(TOPIC, 0): 2}, datetime.now(UTC))
    store.write([article(2, story="s", version=2)], {(TOPIC, 0): 3}, datetime.now(UTC))  # late arrival
    rows = store.db.query("SELECT latest_article_id, latest_version FROM stories WHERE story_id = ?", ("s",))
    assert rows == [("article-000003", 3)]
    assert sorted(a.version for a in store.export(story_id="s")) == [1, 2, 3]


def test_export_filters_by_time_and_source(store: SqlStore) -> None:
    store.write([article(1), article(2, feed_id="feed-b"), article(90)], {(TOPIC, 0): 3}, datetime.now(UTC))
    assert [a.id for a in store.export(feed_id="feed-b")] == ["article-000002"]
    assert [a.id for a in store.export(since=T0.replace(hour=15))] == ["article-000090"]


def test_migrations_are_idempotent(store: SqlStore) -> None:
    store.migrate()
    assert store.db.migrate("sink", "services.sink") == []
