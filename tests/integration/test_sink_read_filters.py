"""The read side's filters on real SQLite and real PostgreSQL: both engines find the same articles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from schemas import Article
from services.core.db import Database
from services.sink.reads import Reader
from services.sink.store import SqlStore
from tests.factories import article

TOPIC = "wirefeed.articles.v1"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(Database(database_url))
    store.migrate()
    yield store
    store.close()


def _in(language: str, n: int) -> Article:
    return article(n).model_copy(update={"language": language})


def _ids(store: SqlStore, language: str) -> list[list[str]]:
    """The articles of ``language`` as export (the CLI) and the read API's pages find them."""
    return [[a.id for a in store.export(language=language)],
            sorted(a["id"] for a in Reader(store.db).page(language=language).articles)]


# --- Norwegian: one code, no ---------------------------------------------------------------------------

def test_migration_0005_moves_articles_stored_as_nb_to_no_in_the_column_and_the_json(store: SqlStore) -> None:
    store.write([_in("nb", 1), _in("nn", 2), _in("en", 3)], {(TOPIC, 0): 3}, datetime.now(UTC))
    before = list(store.export_json())
    with store.db.transaction() as tx:  # as a sink before 0005 stored them: nb, as the normalizer said
        tx.execute("UPDATE articles SET language = 'nb' WHERE article_id = 'article-000001'")
        tx.execute("DELETE FROM schema_migrations WHERE component = 'sink' AND version = 5")
    assert store.db.migrate("sink", "services.sink") == [5]
    assert store.db.query("SELECT article_id, language FROM articles ORDER BY article_id") == [
        ("article-000001", "no"), ("article-000002", "nn"), ("article-000003", "en")]
    after = list(store.export_json())
    assert [json.loads(payload)["language"] for payload in after] == ["no", "nn", "en"]
    assert json.loads(after[0]) == {**json.loads(before[0]), "language": "no"}  # nothing else moved
    assert after[1:] == before[1:]
    assert Reader(store.db).article("article-000001")["language"] == "no"  # type: ignore[index]
    assert _ids(store, "no") == [["article-000001"]] * 2
    with store.db.transaction() as tx:  # run again (a second sink starting): nothing left to change
        tx.execute("DELETE FROM schema_migrations WHERE component = 'sink' AND version = 5")
    assert store.db.migrate("sink", "services.sink") == [5]
    assert list(store.export_json()) == after


def test_asking_for_nb_finds_norwegian_stored_as_no_and_an_article_still_arriving_as_nb(store: SqlStore) -> None:
    """A replay of messages older than the normalizer's change, or a normalizer not yet upgraded, still sends
    nb: the filter finds it under no, and the article is served as the topic carried it."""
    store.write([_in("no", 1), _in("nb", 2), _in("nn", 3)], {(TOPIC, 0): 3}, datetime.now(UTC))
    assert _ids(store, "no") == [["article-000001", "article-000002"]] * 2
    assert _ids(store, "nb") == [["article-000001", "article-000002"]] * 2
    assert _ids(store, "nn") == [["article-000003"]] * 2
    assert Reader(store.db).article("article-000002")["language"] == "nb"  # type: ignore[index]
