"""The sink's store on real SQLite and real PostgreSQL: rows and offsets move together."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from schemas.models import Article, PubStatus, Source
from services.core.config import SessionOptions
from services.core.db import TRANSIENT_ERRORS, Database, as_datetime
from services.core.runner import StopSignal
from services.sink import reads, search
from services.sink.reads import Reader
from services.sink.retention import Retention
from services.sink.store import SqlStore
from tests.factories import T0, article
from tests.helpers import in_thread

TOPIC = "wirefeed.articles.v1"


def test_rows_and_offsets_are_written_together(store: SqlStore) -> None:
    result = store.write([article(1), article(2)], {(TOPIC, 0): 2, (TOPIC, 3): 7}, datetime.now(UTC))
    assert (result.inserted, result.skipped) == (2, 0)
    assert store.offsets(TOPIC) == {0: 2, 3: 7}
    assert [a.id for a in store.export()] == ["article-000001", "article-000002"]


def test_writing_the_same_articles_again_stores_nothing_twice(store: SqlStore) -> None:
    store.write([article(1), article(2)], {(TOPIC, 0): 2}, datetime.now(UTC))
    result = store.write([article(2), article(3)], {(TOPIC, 0): 4}, datetime.now(UTC))
    assert (result.inserted, result.skipped) == (1, 1)
    assert [a.id for a in result.new_articles] == ["article-000003"]  # the sink's latency counts it alone
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


# --- sources, duplicates within a batch ----------------------------------------------------------------

def _sources(store: SqlStore) -> dict[str, tuple[object, ...]]:
    rows = store.db.query("SELECT feed_id, name, url, article_count FROM sources ORDER BY feed_id")
    return {str(row[0]): tuple(row[1:]) for row in rows}


def test_sources_count_each_stored_article_once_and_keep_the_outlet_name(store: SqlStore) -> None:
    named = article(3, feed_id="feed-b").model_copy(update={"source": Source(name="B News", url="https://b.example")})
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    store.write([article(1), article(2), named], {(TOPIC, 0): 3}, t1)
    store.write([article(2), article(4, feed_id="feed-b")], {(TOPIC, 0): 5}, t2)  # article 2 redelivered
    assert _sources(store) == {"feed-a": (None, None, 2), "feed-b": ("B News", "https://b.example", 2)}
    seen = store.db.query("SELECT first_seen, last_seen FROM sources WHERE feed_id = ?", ("feed-b",))[0]
    assert (as_datetime(seen[0]), as_datetime(seen[1])) == (t1, t2)


def test_a_batch_carrying_the_same_article_twice_stores_it_once(store: SqlStore) -> None:
    result = store.write([article(1), article(1), article(2)], {(TOPIC, 0): 3}, datetime.now(UTC))
    assert (result.inserted, result.skipped) == (2, 1)
    assert store.count() == 2
    assert _sources(store)["feed-a"][2] == 2


def test_the_latest_version_is_one_join_away(store: SqlStore) -> None:
    store.write([article(1, story="s"), article(2, story="s", version=2)], {(TOPIC, 0): 2}, datetime.now(UTC))
    assert store.db.query("SELECT story_id, latest_version, article_id, title FROM story_latest") == [
        ("s", 2, "article-000002", "Headline 2")]


def test_one_batch_of_many_stories_and_feeds_updates_each_of_them_once(store: SqlStore) -> None:
    # Out of story order, two versions of one story and unnamed next to named feeds in one batch: the
    # stories and sources of a batch are upserted together (one statement each on PostgreSQL).
    named = article(5, story="b", feed_id="feed-b").model_copy(update={"source": Source(name="B News")})
    store.write([article(1, story="c"), article(2, story="a", version=2), article(3, story="a"),
                 article(4, story="b", feed_id="feed-b"), named], {(TOPIC, 0): 5}, datetime.now(UTC))
    store.write([article(6, story="c", version=2, feed_id="feed-c"), article(7, story="a")],
                {(TOPIC, 0): 7}, datetime.now(UTC))
    stories = store.db.query("SELECT story_id, latest_article_id, latest_version FROM stories ORDER BY story_id")
    assert stories == [("a", "article-000002", 2), ("b", "article-000004", 1), ("c", "article-000006", 2)]
    assert {feed: (name, n) for feed, (name, _, n) in _sources(store).items()} == {
        "feed-a": (None, 4), "feed-b": ("B News", 2), "feed-c": (None, 1)}


def test_migration_0003_can_be_applied_again(store: SqlStore) -> None:
    store.write([article(1, body="harbour")], {(TOPIC, 0): 1}, datetime.now(UTC))
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM schema_migrations WHERE component = 'sink' AND version = 3")
    assert store.db.migrate("sink", "services.sink") == [3]
    assert [a["id"] for a in Reader(store.db).articles(query="harbour")] == ["article-000001"]


def test_every_read_filtered_by_agency_or_language_looks_it_up_in_an_index(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rare agency's or language's page must not read every article back to its first match: the SQL
    each read path writes can be answered from the index (PostgreSQL is asked to avoid a full scan, which
    it would rightly choose for a table this small; an index whose expression differs from the filter's
    cannot be used at all)."""
    store.write([article(n, body="harbour").model_copy(update={"agency": "UPI" if n % 2 else None,
                                                               "language": "de" if n % 4 else "en"})
                 for n in range(1, 41)], {(TOPIC, 0): 40}, datetime.now(UTC))
    issued: list[tuple[str, tuple[Any, ...]]] = []
    query, stream = store.db.query, store.db.stream
    monkeypatch.setattr(store.db, "query", lambda sql, params=(): issued.append((sql, params)) or query(sql, params))
    monkeypatch.setattr(store.db, "stream", lambda sql, params=(), *, fetch_rows: issued.append((sql, params))
                        or stream(sql, params, fetch_rows=fetch_rows))
    reader = Reader(store.db)
    reads = [len(list(store.export(agency="United Press International"))),
             len(reader.page(agency="upi", limit=5).articles),
             len(reader.story_page(agency="UPI", limit=5).stories),
             len(list(store.export(language="en"))),
             len(reader.page(language="en", limit=5).articles)]
    assert reads == [20, 5, 5, 10, 5]
    monkeypatch.undo()
    assert len(issued) == len(reads)
    for (sql, params), index in zip(issued, ["articles_agency"] * 3 + ["articles_language"] * 2, strict=True):
        with store.db.transaction() as tx:
            if tx.dialect == "postgresql":
                tx.execute("SET LOCAL enable_seqscan = off")
                plan = " ".join(row[0] for row in tx.execute(f"EXPLAIN {sql}", params).fetchall())
                # the value looked up in the index, not the index read whole
                looked_up = "agency_key = 'upi'" if index == "articles_agency" else "language = 'en'"
                assert f"using {index} on articles" in plan and f"Index Cond: ({looked_up}" in plan, plan
            else:
                plan = " ".join(str(row[-1]) for row in tx.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
                assert f"USING INDEX {index} (" in plan and "=?" in plan, plan


def test_migration_0002_backfills_sources_from_stored_articles(store: SqlStore) -> None:
    store.write([article(1), article(2), article(3, feed_id="feed-b")], {(TOPIC, 0): 3}, datetime.now(UTC))
    with store.db.transaction() as tx:  # back to the 0001 schema, with the rows kept
        for statement in ("DROP VIEW story_latest", "DROP INDEX articles_stored", "DROP TABLE sources",
                          "DELETE FROM schema_migrations WHERE component = 'sink' AND version = 2"):
            tx.execute(statement)
    assert store.db.migrate("sink", "services.sink") == [2]
    assert {feed: row[2] for feed, row in _sources(store).items()} == {"feed-a": 2, "feed-b": 1}


# --- retention -------------------------------------------------------------------------------------------

DAY = timedelta(days=1)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_purge_deletes_old_articles_in_bounded_batches_and_keeps_stories_and_sources_consistent(
        store: SqlStore) -> None:
    # Story "old": both versions are old, so it goes. Story "mixed": version 2 (latest) is old, version 1
    # arrived late and is recent, so the story stays and points at version 1.
    store.write([article(1, story="old"), article(2, story="old", version=2),
                 article(3, story="mixed", version=2)], {(TOPIC, 0): 3}, NOW - 40 * DAY)
    store.write([article(4, story="mixed", version=1), article(5, feed_id="feed-b")], {(TOPIC, 0): 5}, NOW)
    assert store.purge(NOW - 30 * DAY, limit=2) == 2
    assert store.purge(NOW - 30 * DAY, limit=2) == 1
    assert store.purge(NOW - 30 * DAY, limit=2) == 0
    assert sorted(a.id for a in store.export()) == ["article-000004", "article-000005"]
    stories = store.db.query("SELECT story_id, latest_article_id, latest_version FROM stories ORDER BY story_id")
    assert stories == [("mixed", "article-000004", 1), ("story-000005", "article-000005", 1)]
    assert {feed: row[2] for feed, row in _sources(store).items()} == {"feed-a": 1, "feed-b": 1}
    assert store.offsets(TOPIC) == {0: 5}  # retention never touches offsets


def test_retention_runs_batch_after_batch_and_counts_what_it_deleted(store: SqlStore) -> None:
    store.write([article(n) for n in range(25)], {(TOPIC, 0): 25}, NOW - 31 * DAY)
    store.write([article(99)], {(TOPIC, 0): 26}, NOW)
    purges: list[int] = []

    class Counting:
        def purge(self, cutoff: datetime, limit: int) -> int:
            purges.append(store.purge(cutoff, limit))
            return purges[-1]

    before = _counter("wirefeed_sink_retention_deleted_total")
    assert Retention(Counting(), 30, StopSignal(), batch_rows=10, pause=0, clock=lambda: NOW).run_once() == 25
    assert purges == [10, 10, 5]
    assert _counter("wirefeed_sink_retention_deleted_total") - before == 25
    assert [a.id for a in store.export()] == ["article-000099"]


def test_deleted_articles_leave_the_full_text_index(store: SqlStore) -> None:
    store.write([article(1, body="zanzibar harbour report")], {(TOPIC, 0): 1}, NOW - 40 * DAY)
    reader = Reader(store.db)
    assert [a["id"] for a in reader.articles(query="zanzibar")] == ["article-000001"]
    store.purge(NOW - 30 * DAY, limit=10)
    assert reader.articles(query="zanzibar") == []


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


# --- read side ---------------------------------------------------------------------------------------------

def test_search_finds_words_newest_first_and_filters(store: SqlStore) -> None:
    store.write([article(1, body="Ferry strike in the harbour"), article(2, body="harbour fire, ferry late"),
                 article(3, body="nothing to see", feed_id="feed-b"), article(4, body="Harbour", feed_id="feed-b")],
                {(TOPIC, 0): 4}, datetime.now(UTC))
    reader = Reader(store.db)
    assert [a["id"] for a in reader.articles(query="harbour")] == ["article-000004", "article-000002",
                                                                   "article-000001"]
    assert [a["id"] for a in reader.articles(query="FERRY harbour")] == ["article-000002", "article-000001"]
    assert [a["id"] for a in reader.articles(query="harbour", feed_id="feed-b")] == ["article-000004"]
    assert [a["id"] for a in reader.articles(query="harbour", limit=1)] == ["article-000004"]
    assert [a["id"] for a in reader.articles(query="harbour", since=T0 + timedelta(minutes=2))] == [
        "article-000004", "article-000002"]
    assert [a["id"] for a in reader.articles(limit=2)] == ["article-000004", "article-000003"]


WEB_SEARCHES = [
    ('"ferry strike"', [1]),
    ("ferry -fire", [5, 1]),
    ("fire OR strike", [5, 2, 1]),
    ('harbour -"ferry strike"', [4, 2]),
    ('"strike harbour"', []),
    ("ferry OR nothing -see", [5, 2, 1]),
    ('"harbour fire" OR "to see"', [3, 2]),
    ("ferry or", []),  # "or" between nothing: a word, which no article has
    ("-harbour", [5, 3]),  # exclusions alone find every article without them
    ('-harbour -"ferry terminal"', [3]),
    ("fire OR -strike", [4, 3, 2]),
    ("-strike OR -harbour", [5, 4, 3, 2]),
    # Each "-" negates once, spaces between or not (as websearch_to_tsquery reads a run of them); "or"
    # between two terms is an operator whatever punctuation or empty phrase comes with it.
    ("- ferry", [4, 3]),
    ("--ferry", [5, 2, 1]),
    ("ferry ----strike", [5, 1]),
    ("ferry - strike", [2]),
    ('- "ferry strike"', [5, 4, 3, 2]),
    ("ferry or, strike", [5, 2, 1]),
    ('ferry or "" strike', [5, 2, 1]),
    ("ferry or - strike", [5, 4, 3, 2, 1]),
    pytest.param("-" * 33, [], id="33 dashes"),  # nothing to search for (PostgreSQL: "tsquery stack too small")
    pytest.param("a " + "-" * 41 + "b", [], id="a 41 dashes b"),
    pytest.param("ferry " + "-" * 41 + "strike", [2], id="ferry 41 dashes strike"),
    pytest.param("ferry " + "-" * 40 + "strike", [5, 1], id="ferry 40 dashes strike"),
    pytest.param("-" * 33 + " harbour", [5, 3], id="33 dashes harbour"),
    # Words past the 32nd are ignored, on both engines.
    pytest.param(" ".join(["harbour"] * 32) + " nosuchword", [4, 2, 1], id="33rd word ignored"),
    pytest.param(" ".join(["harbour"] * 31) + " nosuchword", [], id="32nd word counts"),
    pytest.param(" ".join(["harbour"] * 60_000), [4, 2, 1], id="60000 words"),
]


@pytest.fixture(params=["few", "many"])
def matches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches answered from their matches (few), or by walking the newest articles (many: every match
    counts as many)."""
    if request.param == "many":
        monkeypatch.setattr(reads, "FEW_MATCHES", 0)


@pytest.mark.usefixtures("matches")
@pytest.mark.parametrize(("query", "expected"), WEB_SEARCHES)
def test_both_engines_read_web_search_syntax_alike(store: SqlStore, query: str, expected: list[int]) -> None:
    store.write([article(1, body="Ferry strike in the harbour"), article(2, body="harbour fire, ferry late"),
                 article(3, body="nothing to see"), article(4, body="Harbour"),
                 article(5, body="strike called off at the ferry terminal")],
                {(TOPIC, 0): 5}, datetime.now(UTC))
    found = Reader(store.db).articles(query=query)
    assert [a["id"] for a in found] == [f"article-{n:06d}" for n in expected]


@pytest.mark.parametrize("query", ['"', 'harbour"', "harbour AND", "NEAR(harbour", "title:harbour", "harbour*",
                                   "(harbour", "' OR 1=1 --", "-", "^harbour", "harbour OR", "\\", "&|!:*"])
def test_search_input_is_never_syntax(store: SqlStore, query: str) -> None:
    store.write([article(1, body="harbour title")], {(TOPIC, 0): 1}, datetime.now(UTC))
    found = Reader(store.db).articles(query=query)  # no exception is the point; results may vary by engine
    assert all(a["id"] == "article-000001" for a in found)


@pytest.mark.parametrize("query", [
    "- ferry", "--ferry", "ferry ----strike", "ferry - strike", '- "ferry strike"', "ferry or, strike",
    'ferry or "" strike', "ferry or - strike", "ferry or", "ferry or or strike", "ferry -or strike", '"" or ferry',
    "ferry or!", "ferry or! strike", "ferry (or strike)", "ferry or,strike", "-! ferry", "a<->b", "ferry!strike",
    "ferry:strike", "ferry:-strike", "x -y-z", "ferry-strike", "harbour.example.com -3.14", '"ferry -strike"',
    'ferry "strike', "ferry's strike", "C++ -ferry", "fire OR -strike", "-strike OR -harbour",
])
def test_postgresql_reads_the_written_query_as_it_reads_the_query_typed(postgres_url: str, query: str) -> None:
    """The parse is websearch_to_tsquery's reading: the rewritten query matches the same texts."""
    parsed = search.parse_query(query)
    texts = ["ferry strike in the harbour", "harbour fire, ferry late", "nothing to see", "strike, or not",
             "a b", "x y-z", "C++ ferry", "ferry's strike", "harbour.example.com", "3.14", "ferry-strike"]
    with psycopg.connect(postgres_url) as conn:
        typed, written = conn.execute(
            "SELECT array_agg(to_tsvector('simple', t) @@ websearch_to_tsquery('simple', %s) ORDER BY t), "
            "array_agg(to_tsvector('simple', t) @@ websearch_to_tsquery('simple', %s) ORDER BY t) "
            "FROM unnest(%s::text[]) t", (query, parsed.websearch() if parsed else "", texts)).fetchone() or ((), ())
    assert written == typed


def test_search_handles_non_ascii_words(store: SqlStore) -> None:
    store.write([article(1, body="Straßenbahn in Zürich fährt wieder"), article(2, body="東京 の ニュース")],
                {(TOPIC, 0): 2}, datetime.now(UTC))
    reader = Reader(store.db)
    assert [a["id"] for a in reader.articles(query="zürich")] == ["article-000001"]
    assert [a["id"] for a in reader.articles(query="東京")] == ["article-000002"]
    # typed decomposed ("u" and a combining diaeresis), as text is composed when stored
    assert [a["id"] for a in reader.articles(query=unicodedata.normalize("NFD", "Zürich"))] == ["article-000001"]


def test_search_finds_a_word_at_the_very_end_of_a_long_body(store: SqlStore) -> None:
    # The whole body is indexed, not a prefix: the last word of a 20 KB article is found.
    long_body = "Filler words about nothing. " * 700 + "zanzibar"
    store.write([article(1, body=long_body), article(2, body="zanzibar first")], {(TOPIC, 0): 2},
                datetime.now(UTC))
    assert [a["id"] for a in Reader(store.db).articles(query="zanzibar")] == ["article-000002", "article-000001"]


def test_postgresql_keeps_phrases_and_stores_the_vector_uncompressed(postgres_url: str) -> None:
    store = SqlStore(Database(postgres_url))
    try:
        store.migrate()
        store.write([article(1, body="ferry strike in the harbour"), article(2, body="strike ferry harbour")],
                    {(TOPIC, 0): 2}, datetime.now(UTC))
        assert [a["id"] for a in Reader(store.db).articles(query='"ferry strike"')] == ["article-000001"]
        storage = store.db.query("SELECT attstorage FROM pg_attribute "
                                 "WHERE attrelid = 'articles'::regclass AND attname = 'search'")
        assert storage == [("e",)]  # external: out of line, never compressed
    finally:
        store.close()


def test_stories_list_the_latest_version_and_the_outlets_that_carried_the_story(store: SqlStore) -> None:
    store.write([article(1, story="s"), article(2, story="s", version=2, feed_id="feed-b"),
                 article(3, story="s", version=2, feed_id="feed-c"), article(10)], {(TOPIC, 0): 4}, datetime.now(UTC))
    stories = list(Reader(store.db).stories())
    assert [(s.story_id, s.title, s.version, s.outlets) for s in stories] == [
        ("story-000010", "Headline 10", 1, 1), ("s", "Headline 2", 2, 3)]
    assert [s.story_id for s in Reader(store.db).stories(since=T0 + timedelta(minutes=5))] == ["story-000010"]
    assert [s.story_id for s in Reader(store.db).stories(limit=1)] == ["story-000010"]


def test_the_stories_list_reads_page_by_page_without_gaps_or_repeats(store: SqlStore) -> None:
    same_minute = [article(n).model_copy(update={"published_at": T0}) for n in range(40, 47)]
    copies = [article(n, story="s", feed_id=f"feed-{n}") for n in range(50, 53)]  # one story, three outlets
    store.write([*same_minute, *copies, *(article(n) for n in range(1, 9))], {(TOPIC, 0): 18}, datetime.now(UTC))
    everything = [s.story_id for s in Reader(store.db).stories()]
    assert everything == ["s", *(f"story-{n:06d}" for n in range(8, 0, -1)),
                          *(f"story-{n:06d}" for n in range(46, 39, -1))]  # newest first, ties by latest article
    for page_rows in (1, 3, 7, 16, 17):  # ties at T0 straddle page boundaries
        assert [s.story_id for s in Reader(store.db).stories(page_rows=page_rows)] == everything


def test_a_copy_withdrawn_later_leaves_the_story_s_latest_version_and_status_as_they_were(store: SqlStore) -> None:
    # README's consumer rule: a tie on the version keeps the first to arrive, so a copy never replaces it
    def copy(n: int, status: PubStatus) -> Article:
        return article(n, story="s", feed_id="feed-b").model_copy(
            update={"duplicate_of": "article-000001", "pubstatus": status})

    store.write([article(1, story="s"), copy(2, PubStatus.USABLE)], {(TOPIC, 0): 2}, datetime.now(UTC))
    store.write([copy(3, PubStatus.CANCELED)], {(TOPIC, 0): 3}, datetime.now(UTC))  # the outlet withdraws it
    [line] = Reader(store.db).stories()
    assert (line.title, line.version, line.pubstatus) == ("Headline 1", 1, PubStatus.USABLE)
    assert Reader(store.db).story("s").latest_article_id == "article-000001"  # type: ignore[union-attr]


def test_a_story_comes_back_with_every_version_and_copy(store: SqlStore) -> None:
    store.write([article(1, story="s"), article(2, story="s", version=2, feed_id="feed-b"),
                 article(3, story="s", version=2, feed_id="feed-c")], {(TOPIC, 0): 3}, datetime.now(UTC))
    story = Reader(store.db).story("s")
    assert story is not None
    assert (story.latest_article_id, story.latest_version, story.outlets, story.truncated) == (
        "article-000002", 2, 3, False)
    assert [(a["version"], a["feed_id"]) for a in story.articles] == [(1, "feed-a"), (2, "feed-b"), (2, "feed-c")]
    assert Reader(store.db).story("s", limit=2).truncated is True  # type: ignore[union-attr]
    assert Reader(store.db).story("missing") is None


def test_a_byte_budget_cuts_a_page_short_and_the_next_page_goes_on_from_there(store: SqlStore) -> None:
    # Articles of about 20 kB of JSON each (body text and HTML), some at one time (ties on the key).
    large = [article(n, body=f"Word {n} " * 1500) for n in range(1, 30)]
    large[10:15] = [a.model_copy(update={"published_at": T0}) for a in large[10:15]]
    store.write(large, {(TOPIC, 0): 29}, datetime.now(UTC))
    reader = Reader(store.db)
    everything = [a["id"] for a in reader.page(limit=100).articles]
    assert len(everything) == 29
    pages, after = [], None
    while True:
        page = reader.page(limit=100, after=after, max_bytes=50_000)
        pages.append([a["id"] for a in page.articles])
        if page.next is None:
            break
        after = page.next
    assert [len(ids) for ids in pages[:-1]] == [2] * (len(pages) - 1)  # 2 fit in 50 kB, a third does not
    assert [i for ids in pages for i in ids] == everything  # no gap, no repeat
    assert [a["id"] for a in reader.page(limit=5, max_bytes=10).articles] == everything[:1]  # at least one


def test_a_budgeted_page_runs_its_query_once_and_gives_its_connection_back(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Read 20 rows a query, a page of 50 ran its search three times (a rare word's page of 500, whose
    # matching work each query repeats, took 50 times one query's time); now one query, read 20 at a time.
    store.write([article(n, body="harbour") for n in range(1, 61)], {(TOPIC, 0): 60}, datetime.now(UTC))
    reader = Reader(store.db)
    issued: list[str] = []
    stream = store.db.stream
    monkeypatch.setattr(store.db, "stream", lambda sql, params=(), *, fetch_rows: issued.append(sql)
                        or stream(sql, params, fetch_rows=fetch_rows))
    page = reader.page(query="harbour", limit=50, max_bytes=10_000_000)
    assert (len(page.articles), page.next is not None, len(issued)) == (50, True, 1)
    for _ in range(12):  # more than the pool's connections: each early stop closes its transaction
        assert len(reader.page(query="harbour", limit=50, max_bytes=1).articles) == 1


def test_a_search_page_on_sqlite_reads_newest_first_instead_of_sorting_every_match(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite looked every match up by rowid and sorted them all, payloads included: a word in most of
    # 100,000 articles took 1.3 s a page. Scanning the date index and checking each row: 0.02 s.
    monkeypatch.setattr(reads, "FEW_MATCHES", 100)  # of 300 articles, 200 match: many
    store = SqlStore(Database(f"sqlite:///{tmp_path / 'sink.db'}"))
    store.migrate()
    store.write([article(n, body="harbour" if n % 3 else "quay") for n in range(1, 301)], {(TOPIC, 0): 300},
                datetime.now(UTC))
    issued: list[tuple[str, tuple[Any, ...]]] = []
    stream = store.db.stream
    monkeypatch.setattr(store.db, "stream", lambda sql, params=(), *, fetch_rows: issued.append((sql, params))
                        or stream(sql, params, fetch_rows=fetch_rows))
    page = Reader(store.db).page(query="harbour", limit=5)
    monkeypatch.undo()
    assert [a["id"] for a in page.articles] == [f"article-{n:06d}" for n in (299, 298, 296, 295, 293)]
    ((sql, params),) = issued
    with store.db.transaction() as tx:
        plan = [str(row[-1]) for row in tx.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]
    store.close()
    assert any("USING INDEX articles_published" in step for step in plan), plan  # "SCAN [TABLE] articles …"
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # ties on the time only are sorted


def _plans(store: SqlStore, monkeypatch: pytest.MonkeyPatch, read: Any) -> tuple[Any, list[str]]:
    """What ``read()`` returns, and the plan of each query it streamed (PostgreSQL asked to avoid a full
    scan, which it would rightly choose for a table this small)."""
    issued: list[tuple[str, tuple[Any, ...]]] = []
    stream = store.db.stream
    monkeypatch.setattr(store.db, "stream", lambda sql, params=(), *, fetch_rows: issued.append((sql, params))
                        or stream(sql, params, fetch_rows=fetch_rows))
    answer = read()
    monkeypatch.undo()
    plans = []
    for sql, params in issued:
        with store.db.transaction() as tx:
            if tx.dialect == "postgresql":
                tx.execute("SET LOCAL enable_seqscan = off")
                plans.append(" ".join(str(row[0]) for row in tx.execute(f"EXPLAIN {sql}", params).fetchall()))
            else:
                rows = tx.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                plans.append(" ".join(str(row[-1]) for row in rows))
    return answer, plans


def test_a_search_with_few_matches_looks_them_up_rather_than_walking_every_article(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Walking the date index for a rare word read it whole: 18 ms per 100,000 articles on SQLite, 0.2 s
    # on PostgreSQL, whose statistics cannot say how rare a word is (a table this small does not show
    # that: its planner chose the full-text index here before). Looked up from its matches: a millisecond.
    store.write([article(n, story="s" if n in (7, 250) else None, version=2 if n == 250 else 1,
                         body="zanzibar" if n in (7, 150, 250) else None) for n in range(1, 301)],
                {(TOPIC, 0): 300}, datetime.now(UTC))
    reader = Reader(store.db)
    page, (plan,) = _plans(store, monkeypatch, lambda: reader.page(query="zanzibar", limit=5))
    assert [a["id"] for a in page.articles] == ["article-000250", "article-000150", "article-000007"]
    assert "articles_published" not in plan, plan
    stories, (plan,) = _plans(store, monkeypatch, lambda: reader.story_page(query="zanzibar", limit=5))
    assert [s.story_id for s in stories.stories] == ["s", "story-000150"]
    assert "articles_published" not in plan, plan


def test_a_search_matching_nothing_reads_no_page(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write([article(n, body="harbour") for n in range(1, 11)], {(TOPIC, 0): 10}, datetime.now(UTC))
    reader = Reader(store.db)
    answers, plans = _plans(store, monkeypatch, lambda: (reader.page(query="zanzibar").articles,
                                                         reader.story_page(query="zanzibar").stories,
                                                         list(reader.stories(query="harbour zanzibar"))))
    assert (answers, plans) == (([], [], []), [])


@pytest.mark.usefixtures("matches")
def test_a_story_search_finds_every_story_by_any_version_under_either_plan(store: SqlStore) -> None:
    # story s: the word in its first version only, and in one outlet's copy of it; each story once
    versions = [article(1, story="s", body="harbour strike"), article(2, story="s", version=2, body="strike over"),
                article(3, story="s", feed_id="feed-b", body="harbour strike")]
    others = [article(n, body="harbour" if n % 2 else "quay") for n in range(10, 30)]
    store.write([*versions, *others], {(TOPIC, 0): 23}, datetime.now(UTC))
    expected = [*(f"story-{n:06d}" for n in range(29, 9, -1) if n % 2), "s"]
    for page_rows in (1, 4, 11, 50):
        found = list(Reader(store.db).stories(query="harbour", page_rows=page_rows))
        assert [s.story_id for s in found] == expected
    assert [(s.version, s.outlets) for s in found if s.story_id == "s"] == [(2, 2)]


def test_a_story_search_with_many_matches_on_sqlite_walks_the_stories_newest_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every matching story was found, counted and sorted: a word in most of 200,000 articles took 1.9 s a
    # page. Walking the newest stories and checking each: 0.03 s.
    store = SqlStore(Database(f"sqlite:///{tmp_path / 'sink.db'}"))
    store.migrate()
    store.write([article(n, body="harbour" if n % 3 else "quay") for n in range(1, 301)], {(TOPIC, 0): 300},
                datetime.now(UTC))
    monkeypatch.setattr(reads, "FEW_MATCHES", 100)
    stories, (plan,) = _plans(store, monkeypatch, lambda: Reader(store.db).story_page(query="harbour", limit=3))
    store.close()
    assert [s.story_id for s in stories.stories] == ["story-000299", "story-000298", "story-000296"]
    assert "SCAN a USING INDEX articles_published" in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_a_byte_budget_truncates_a_story(store: SqlStore) -> None:
    copies = [article(n, story="s", version=1 + n % 3, feed_id=f"feed-{n}", body=f"Word {n} " * 1500)
              for n in range(1, 26)]
    store.write(copies, {(TOPIC, 0): 25}, datetime.now(UTC))
    whole = Reader(store.db).story("s")
    budgeted = Reader(store.db).story("s", max_bytes=50_000)
    assert whole is not None and budgeted is not None
    assert (len(whole.articles), whole.truncated) == (25, False)
    assert (budgeted.articles, budgeted.truncated) == (whole.articles[:2], True)  # the oldest, in order
    assert len(Reader(store.db).story("s", max_bytes=10_000_000).articles) == 25  # type: ignore[union-attr]
    assert len(Reader(store.db).story("s", max_bytes=1).articles) == 1  # type: ignore[union-attr]


def test_export_reads_page_by_page_without_gaps_or_repeats(store: SqlStore) -> None:
    same_minute = [article(n).model_copy(update={"published_at": T0}) for n in range(40, 47)]
    store.write([*same_minute, *(article(n) for n in range(1, 9))], {(TOPIC, 0): 15}, datetime.now(UTC))
    everything = [a.id for a in store.export()]
    assert everything == [f"article-{n:06d}" for n in [*range(40, 47), *range(1, 9)]]  # oldest first, then by id
    for page_rows in (1, 3, 7, 15, 16):  # ties at T0 straddle page boundaries
        assert [a.id for a in store.export(page_rows=page_rows)] == everything
    fetched: list[int] = []
    query = store.db.query
    store.db.query = lambda *args: fetched.append(len(rows := query(*args))) or rows  # type: ignore[method-assign]
    assert len(list(store.export(page_rows=4))) == 15
    assert fetched == [4, 4, 4, 3]  # never more than a page in memory
    assert [a.id for a in store.export(since=T0 + timedelta(minutes=5), page_rows=2)] == [
        f"article-{n:06d}" for n in range(5, 9)]


def test_postgresql_reads_are_not_jit_compiled(postgres_url: str) -> None:
    """The stories list's correlated subquery makes the planner's estimate large enough to start JIT
    compilation, which cost 200 ms on a 3 ms page; read-only connections turn it off."""
    reads = Database(postgres_url, read_only=True)
    try:
        assert reads.query("SHOW jit") == [("off",)]
    finally:
        reads.close()


def test_postgresql_over_tls_takes_libpq_parameters_in_the_url(postgres_url: str) -> None:
    """A production database asks for TLS: ``?sslmode=verify-full&sslrootcert=…`` in the URL reaches libpq."""
    store = SqlStore(Database(f"{postgres_url}?sslmode=require"))
    try:
        store.migrate()
        store.write([article(1)], {(TOPIC, 0): 1}, datetime.now(UTC))
        [(encrypted,)] = store.db.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert encrypted is True
        assert [a.id for a in store.export()] == ["article-000001"]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_sink_frozen_mid_write_neither_holds_up_the_next_owner_nor_stores_twice(postgres_url: str) -> None:
    """A sink replica stopped (SIGSTOP, a paused VM) between two statements of its batch keeps the rows
    it inserted locked: the replica given its partitions writes the batch once the server has ended the
    frozen session, and the frozen one, back, gets a transient error and then stores nothing twice."""
    frozen = SqlStore(Database(postgres_url, session=SessionOptions(idle_in_transaction_timeout=1)))
    owner = SqlStore(Database(postgres_url))
    frozen.migrate()
    batch, offsets, now = [article(1), article(2)], {(TOPIC, 0): 2}, datetime.now(UTC)
    try:
        with pytest.raises(TRANSIENT_ERRORS), frozen.db.transaction() as tx:
            frozen._insert_articles(tx, batch, now, {})  # inserted, not committed
            assert in_thread(lambda: owner.write(batch, offsets, now), timeout=30).inserted == 2
        assert frozen.write(batch, offsets, now).inserted == 0
        assert owner.count() == 2 and owner.offsets(TOPIC) == {0: 2}
    finally:
        frozen.close()
        owner.close()
