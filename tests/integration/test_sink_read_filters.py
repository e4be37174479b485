"""The read side's filters on real SQLite and real PostgreSQL: both engines find the same articles."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from schemas import Article
from services.core.db import _migration_files
from services.sink.reads import Reader
from services.sink.store import SqlStore
from tests.factories import article

TOPIC = "wirefeed.articles.v1"


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


# --- agency: any case, alike on both engines -----------------------------------------------------------

#: Each stored agency name, and the names asked for that find it (its own in any case, and those the
#: normalizer knows it by). SQLite's lower() lowers ASCII only, PostgreSQL's follows the database's locale.
AGENCIES = {
    "БелТА": ["белта", "БЕЛТА", "БелТА"],
    "ΚΥΠΕ": ["κυπε", "Κυπε"],
    "Τασς": ["ΤΑΣΣ", "τασσ", "τασς"],
    "İHA": ["İHA", "iha", "IHA", "İha"],
    "ÖSTERREICH PRESSE": ["österreich presse", "Österreich Presse"],
    "AFP": ["Agence France-Presse", "AGENCE FRANCE-PRESSE", "afp"],
    "ANSA": ["ansa", "Agenzia Nazionale Stampa Associata"],
    "CTK": ["ČTK", "čtk", "ctk", "Czech News Agency"],
    "Ritzau": ["RITZAU", "ritzau"],
    "EFE": ["efe", "Agencia EFE"],
    "TASR": ["tasr"],
}


def test_an_agency_is_found_in_any_case_of_any_alphabet_on_both_engines(store: SqlStore) -> None:
    named = {agency: f"article-{n:06d}" for n, agency in enumerate(AGENCIES, start=1)}
    store.write([article(n).model_copy(update={"agency": agency}) for n, agency in enumerate(AGENCIES, start=1)],
                {(TOPIC, 0): len(AGENCIES)}, datetime.now(UTC))
    reader = Reader(store.db)
    found = {asked: [sorted(a.id for a in store.export(agency=asked)),
                     sorted(a["id"] for a in reader.page(agency=asked).articles),
                     sorted(s.story_id.replace("story", "article") for s in reader.story_page(agency=asked).stories)]
             for names in AGENCIES.values() for asked in names}
    expected = {asked: [[named[agency]]] * 3 for agency, names in AGENCIES.items() for asked in names}
    assert found == expected
    assert [a.id for a in store.export(agency="белт")] == []  # the whole name, not a part of it


def test_migration_0006_gives_the_articles_stored_before_it_the_key_the_filter_compares(store: SqlStore) -> None:
    store.write([article(n).model_copy(update={"agency": agency}) for n, agency in enumerate(AGENCIES, start=1)]
                + [article(99)], {(TOPIC, 0): len(AGENCIES) + 1}, datetime.now(UTC))
    with store.db.transaction() as tx:  # back to the 0005 schema, with the rows kept
        if store.db.dialect == "sqlite":  # 0007's trigger names the column (PostgreSQL's default goes with it)
            tx.execute("DROP TRIGGER articles_older_sink_unkeyed")
        for statement in ("DROP INDEX articles_agency", "ALTER TABLE articles DROP COLUMN agency_key",
                          "DELETE FROM schema_migrations WHERE component = 'sink' AND version IN (6, 7)"):
            tx.execute(statement)
    assert store.db.migrate("sink", "services.sink") == [6, 7]
    for n, (agency, names) in enumerate(AGENCIES.items(), start=1):
        for asked in names:
            assert [a.id for a in store.export(agency=asked)] == [f"article-{n:06d}"], (agency, asked)
    assert store.db.query("SELECT agency_key FROM articles WHERE article_id = 'article-000099'") == [(None,)]


# --- A rolling update: rows older replicas write while the first new one has migrated ------------------

_BEFORE_0006 = ("INSERT INTO articles (article_id, story_id, version, feed_id, url, canonical_url, title, "
                "body_text, language, published_at, fetched_at, stored_at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _write_as_a_sink_before_0005(store: SqlStore, articles: list[Article]) -> None:
    """As the store wrote before migrations 0005 and 0006: no agency_key named, the language as it came."""
    now = datetime.now(UTC)
    with store.db.transaction() as tx:
        tx.executemany(_BEFORE_0006, [(a.id, a.story_id, a.version, a.feed_id, a.url, a.canonical_url, a.title,
                                       a.body_text, a.language, a.published_at, a.fetched_at, now,
                                       a.model_dump_json()) for a in articles])


def test_rows_an_older_sink_writes_during_a_rolling_update_are_keyed_for_the_filters(store: SqlStore) -> None:
    store.write([article(1).model_copy(update={"agency": "Reuters"})], {(TOPIC, 0): 1}, datetime.now(UTC))
    _write_as_a_sink_before_0005(store, [
        article(2).model_copy(update={"agency": "Reuters", "language": "nb"}),
        article(3).model_copy(update={"agency": "ΤΑΣΣ"}),
        _in("nb", 4),
        _in("en", 5)])  # naming no agency: nothing to key
    assert [a.id for a in store.export(agency="")] == []  # '' marks the rows not keyed yet: no name finds them
    # Two keys and two languages, one row per transaction (PostgreSQL's default marks the rows naming no
    # agency as well, and they are given NULL).
    assert store.key_stragglers(batch_rows=1) == {"sqlite": 4, "postgresql": 6}[store.db.dialect]
    assert [a.id for a in store.export(agency="reuters")] == ["article-000001", "article-000002"]
    assert sorted(a["id"] for a in Reader(store.db).page(agency="Reuters").articles) == [
        "article-000001", "article-000002"]
    assert [a.id for a in store.export(agency="τασσ")] == ["article-000003"]
    assert _ids(store, "nb") == [["article-000002", "article-000004"]] * 2
    assert [a.language for a in store.export(language="no")] == ["no", "no"]  # the JSON as migration 0005 left it
    assert store.db.query("SELECT article_id, agency_key FROM articles ORDER BY article_id") == [
        ("article-000001", "reuters"), ("article-000002", "reuters"), ("article-000003", "τασσ"),
        ("article-000004", None), ("article-000005", None)]
    assert store.key_stragglers() == 0  # nothing left; the sink's own rows are never taken for an older sink's


def test_an_article_whose_agency_is_empty_is_never_taken_for_an_older_sinks_row(store: SqlStore) -> None:
    """'' names no agency: its key is NULL, as PostgreSQL's sink writes it (the column's default applies only
    to an older sink's INSERT); SQLite's trigger marked it as not keyed yet, and it was counted as keyed."""
    store.write([article(1).model_copy(update={"agency": ""})], {(TOPIC, 0): 1}, datetime.now(UTC))
    assert store.db.query("SELECT agency_key FROM articles") == [(None,)]
    assert store.key_stragglers() == 0


def test_migration_0008_gives_the_empty_agencies_marked_before_it_their_key(store: SqlStore) -> None:
    """On SQLite 0007's trigger marked an article whose agency is '' as an older sink's: 0008 keys it."""
    with store.db.transaction() as tx:  # back to the 0007 schema: its trigger marks an empty agency
        if store.db.dialect == "sqlite":
            tx.execute("DROP TRIGGER articles_older_sink_unkeyed")
            store.db._run_script(tx, dict(_migration_files("services.sink", "sqlite"))[7])
        tx.execute("DELETE FROM schema_migrations WHERE component = 'sink' AND version = 8")
    store.write([article(1).model_copy(update={"agency": ""})], {(TOPIC, 0): 1}, datetime.now(UTC))
    _write_as_a_sink_before_0005(store, [article(2).model_copy(update={"agency": "Reuters"})])
    assert store.db.migrate("sink", "services.sink") == [8]
    assert store.db.query("SELECT article_id, agency_key FROM articles ORDER BY article_id") == [
        ("article-000001", None), ("article-000002", "")]  # an older sink's row stays marked, to be keyed
    assert store.key_stragglers() == 1
    assert [a.id for a in store.export(agency="reuters")] == ["article-000002"]


def test_an_empty_agency_finds_nothing(store: SqlStore) -> None:
    store.write([article(1), article(2).model_copy(update={"agency": "Reuters"})], {(TOPIC, 0): 2}, datetime.now(UTC))
    assert [a.id for a in store.export(agency="")] == []
    assert Reader(store.db).story_page(agency="").stories == []
