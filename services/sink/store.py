"""Article storage with the consumer offsets kept beside the rows (SQLite and PostgreSQL).

``write(batch, offsets)`` stores the articles, their stories and sources, *and* the next offset of
every partition in one transaction. Whatever crashes when, storage and offsets agree; on restart the
sink resumes from the stored offsets, so no article is lost and none is written twice (Kafka's
documented pattern for exactly-once delivery into an outside store).

One class serves both engines. The SQL is shared except where a dialect has a much faster path:
PostgreSQL inserts a whole batch in one statement (``unnest`` of column arrays, one round trip),
SQLite (in-process, no round trips) uses ``executemany``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg

from schemas import Article
from services.core.db import Database, Tx, connect_once, fold_case
from services.normalizer.agencies import canonical_agency  # the names articles give agencies are its

OffsetKey = tuple[str, int]

PING_TIMEOUT_SECONDS = 2
#: Rows a paged read (keyset_rows) fetches per query: for export, a few megabytes of payloads.
PAGE_ROWS = 1000

#: SQLite builds versions before 3.32 allow 999 bound parameters per statement; stay below.
_SQLITE_IN_CHUNK = 500

_COLUMNS = ("article_id, story_id, version, feed_id, url, canonical_url, title, body_text, language, "
            "published_at, fetched_at, stored_at, payload, agency_key")

# %b: binary parameters. In text format psycopg escapes every quote of every JSON payload in Python,
# which cost more than PostgreSQL's whole insert; binary arrays need no escaping.
_PG_INSERT = (
    f"INSERT INTO articles ({_COLUMNS}) "
    "SELECT id, story, version, feed, url, canonical, title, body, lang, published, fetched, "
    "%b::timestamptz, payload::jsonb, agency "
    "FROM unnest(%b::text[], %b::text[], %b::int[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
    "%b::text[], %b::timestamptz[], %b::timestamptz[], %b::text[], %b::text[]) "
    "AS batch(id, story, version, feed, url, canonical, title, body, lang, published, fetched, payload, agency) "
    "ON CONFLICT (article_id) DO NOTHING RETURNING article_id"
)

_SQLITE_INSERT = (
    f"INSERT INTO articles ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (article_id) DO NOTHING"
)

# A later version moves the pointer; an equal one (another outlet's copy) keeps the first stored.
_STORY_CONFLICT = (
    "ON CONFLICT (story_id) DO UPDATE SET "
    "latest_article_id = CASE WHEN excluded.latest_version > stories.latest_version "
    "THEN excluded.latest_article_id ELSE stories.latest_article_id END, "
    "latest_version = CASE WHEN excluded.latest_version > stories.latest_version "
    "THEN excluded.latest_version ELSE stories.latest_version END, "
    "updated_at = excluded.updated_at"
)
_UPSERT_STORY = (
    "INSERT INTO stories (story_id, latest_article_id, latest_version, first_stored_at, updated_at) "
    f"VALUES (?, ?, ?, ?, ?) {_STORY_CONFLICT}"
)
# PostgreSQL: every story of the batch in one statement (one execution instead of one per story).
# unnest keeps the arrays' order, so rows are still locked in story order.
_PG_UPSERT_STORIES = (
    "INSERT INTO stories (story_id, latest_article_id, latest_version, first_stored_at, updated_at) "
    "SELECT story, article, version, %b::timestamptz, %b::timestamptz "
    "FROM unnest(%b::text[], %b::text[], %b::int[]) AS batch(story, article, version) "
    f"{_STORY_CONFLICT}"
)

_SOURCE_CONFLICT = (
    "ON CONFLICT (feed_id) DO UPDATE SET name = COALESCE(excluded.name, sources.name), "
    "url = COALESCE(excluded.url, sources.url), last_seen = excluded.last_seen, "
    "article_count = sources.article_count + excluded.article_count"
)
_UPSERT_SOURCE = (
    "INSERT INTO sources (feed_id, name, url, first_seen, last_seen, article_count) VALUES (?, ?, ?, ?, ?, ?) "
    f"{_SOURCE_CONFLICT}"
)
_PG_UPSERT_SOURCES = (
    "INSERT INTO sources (feed_id, name, url, first_seen, last_seen, article_count) "
    "SELECT feed, name, url, %b::timestamptz, %b::timestamptz, n "
    "FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[]) AS batch(feed, name, url, n) "
    f"{_SOURCE_CONFLICT}"
)

_UPSERT_OFFSET = (
    "INSERT INTO sink_offsets (topic, partition, next_offset, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, "
    "updated_at = excluded.updated_at"
)

_PURGE = (
    "DELETE FROM articles WHERE article_id IN "
    "(SELECT article_id FROM articles WHERE stored_at < ? ORDER BY stored_at LIMIT ?) "
    "RETURNING feed_id, story_id"
)

_DROP_EMPTY_STORY = (
    "DELETE FROM stories WHERE story_id = ? AND NOT EXISTS (SELECT 1 FROM articles WHERE story_id = ?)"
)

_REPOINT_STORY = (
    "UPDATE stories SET "
    "latest_article_id = (SELECT article_id FROM articles WHERE story_id = ? "
    "ORDER BY version DESC, stored_at, article_id LIMIT 1), "
    "latest_version = (SELECT MAX(version) FROM articles WHERE story_id = ?) "
    "WHERE story_id = ? AND NOT EXISTS (SELECT 1 FROM articles WHERE article_id = stories.latest_article_id)"
)


#: Rows key_stragglers changes per transaction: a few milliseconds of the write lock on SQLite.
STRAGGLER_BATCH_ROWS = 200

# Migration 0005's change of the stored JSON of an article stored as nb.
_NORWEGIAN_PAYLOAD = {"postgresql": "jsonb_set(payload, '{language}', '\"no\"')",
                      "sqlite": "json_set(payload, '$.language', 'no')"}


@dataclass(frozen=True)
class WriteResult:
    #: The articles this write stored: new versions. Those already stored (a redelivery, a rewind of the
    #: sink's positions, a replay or a redrive) are only counted in ``skipped``.
    new_articles: tuple[Article, ...]
    skipped: int

    @property
    def inserted(self) -> int:
        return len(self.new_articles)


class Store(Protocol):
    def migrate(self) -> None: ...
    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime,
              payloads: Mapping[str, str] | None = None) -> WriteResult: ...
    def offsets(self, topic: str) -> dict[int, int]: ...
    def export(self, since: datetime | None = None, feed_id: str | None = None, story_id: str | None = None,
               *, language: str | None = None, agency: str | None = None, publishable_at: datetime | None = None,
               until: datetime | None = None, page_rows: int = ...) -> Iterator[Article]: ...
    def count(self) -> int: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


class SqlStore:
    """One implementation for both dialects; the SQL differs only where the engines do."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def migrate(self) -> None:
        self.db.migrate("sink", "services.sink")

    def write(self, articles: list[Article], offsets: dict[OffsetKey, int], now: datetime,
              payloads: Mapping[str, str] | None = None) -> WriteResult:
        """Store the articles and the offsets together. ``payloads``: the JSON each article came as, by id,
        stored and served as it is (an article without one is stored as its model writes it)."""
        unique: dict[str, Article] = {}
        for article in articles:  # a batch can carry a redelivery next to the original: keep the first
            unique.setdefault(article.id, article)
        with self.db.transaction() as tx:
            inserted = self._insert_articles(tx, list(unique.values()), now, payloads or {})
            # Only rows this transaction inserted touch stories and sources: a redelivered article
            # must not count twice.
            _upsert_stories(tx, inserted, now)
            _upsert_sources(tx, inserted, now)
            tx.executemany(_UPSERT_OFFSET, [(topic, partition, offset, now)
                                            for (topic, partition), offset in sorted(offsets.items())])
        return WriteResult(new_articles=tuple(inserted), skipped=len(articles) - len(inserted))

    def purge(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` articles stored before ``cutoff`` in one transaction; returns how many.

        Stories whose articles are all gone are deleted, stories whose latest version went are pointed
        at the latest one left, and sources' article counts go down, all in the same transaction.
        """
        with self.db.transaction() as tx:
            gone = tx.execute(_PURGE, (cutoff, limit)).fetchall()
            stories = sorted({str(story) for _, story in gone})  # sorted: the same lock order as write()
            tx.executemany(_DROP_EMPTY_STORY, [(s, s) for s in stories])
            tx.executemany(_REPOINT_STORY, [(s, s, s) for s in stories])
            per_feed = Counter(str(feed) for feed, _ in gone)
            tx.executemany("UPDATE sources SET article_count = article_count - ? WHERE feed_id = ?",
                           [(n, feed) for feed, n in sorted(per_feed.items())])
        return len(gone)

    def offsets(self, topic: str) -> dict[int, int]:
        rows = self.db.query("SELECT partition, next_offset FROM sink_offsets WHERE topic = ?", (topic,))
        return {int(partition): int(offset) for partition, offset in rows}

    def export(self, since: datetime | None = None, feed_id: str | None = None, story_id: str | None = None,
               *, language: str | None = None, agency: str | None = None, publishable_at: datetime | None = None,
               until: datetime | None = None, page_rows: int = PAGE_ROWS) -> Iterator[Article]:
        """Matching articles, oldest first, read ``page_rows`` at a time: memory stays flat however many
        there are, and no transaction stays open while the caller writes them out. Pages follow each other
        by (published_at, article_id), so an article stored meanwhile may or may not be included. With
        ``publishable_at``, only those one may publish then."""
        for payload in self._payloads(article_filters(since, feed_id, story_id, language, until), agency,
                                      publishable_at, page_rows):
            yield _article(payload)

    def export_json(self, since: datetime | None = None, feed_id: str | None = None, story_id: str | None = None,
                    *, language: str | None = None, agency: str | None = None,
                    publishable_at: datetime | None = None, until: datetime | None = None,
                    page_rows: int = PAGE_ROWS) -> Iterator[str]:
        """The articles ``export`` gives, each as the JSON stored for it: as the topic carried it, with the
        fields a newer normalizer added (the read API serves the same)."""
        for payload in self._payloads(article_filters(since, feed_id, story_id, language, until), agency,
                                      publishable_at, page_rows):
            yield payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False,
                                                                      separators=(",", ":"))

    def _payloads(self, filters: tuple[list[str], list[Any]], agency: str | None, publishable_at: datetime | None,
                  page_rows: int) -> Iterator[Any]:
        """The stored JSON of the matching articles, oldest first, as the engine gives it (PostgreSQL's
        JSONB read, SQLite's text)."""
        clauses, params = filters
        if agency is not None:
            agency_filter(agency, clauses, params)
        if publishable_at is not None:
            publishable_filter(self.db.dialect, publishable_at, clauses, params)
        for payload, *_ in keyset_rows(self.db, "payload", "articles", (clauses, params),
                                       key=("published_at", "article_id"), page_rows=page_rows):
            yield payload

    def key_stragglers(self, batch_rows: int = STRAGGLER_BATCH_ROWS) -> int:
        """Give the rows an older sink wrote during a rolling update what this one writes: the agency's key
        (migration 0007 marks them '') and Norwegian as no (a sink before migration 0005 stored nb, in the
        column and the JSON, as that migration moved them). Both are found through indexes, ``batch_rows``
        per transaction, until none is left; returns how many rows changed. Nothing to do costs two
        index lookups."""
        total = 0
        for step in (self._key_agencies, self._norwegian_as_no):
            while True:
                with self.db.transaction() as tx:
                    done = step(tx, batch_rows)
                total += done
                if done < batch_rows:
                    break
        return total

    def _key_agencies(self, tx: Tx, limit: int) -> int:
        agency = "payload ->> 'agency'" if tx.dialect == "postgresql" else "json_extract(payload, '$.agency')"
        rows = tx.execute(f"SELECT article_id, {agency} FROM articles WHERE agency_key = '' LIMIT ?",
                          (limit,)).fetchall()
        tx.executemany("UPDATE articles SET agency_key = ? WHERE article_id = ?",
                       [(_agency_key(name), article_id) for article_id, name in rows])
        return len(rows)

    def _norwegian_as_no(self, tx: Tx, limit: int) -> int:
        payload = _NORWEGIAN_PAYLOAD[tx.dialect]
        rows = tx.execute("UPDATE articles SET language = 'no', "
                          f"payload = {payload} WHERE article_id IN "
                          "(SELECT article_id FROM articles WHERE language = 'nb' LIMIT ?) RETURNING article_id",
                          (limit,)).fetchall()
        return len(rows)

    def count(self) -> int:
        row = self.db.query("SELECT COUNT(*) FROM articles")
        return int(row[0][0])

    def ping(self) -> bool:
        if self.db.dialect != "postgresql":
            return self.db.ping()
        # Through the pool a probe would wait its 10 s timeout for a connection while the server is down;
        # a readiness probe must answer quickly.
        try:
            connect_once(self.db.url, timeout=PING_TIMEOUT_SECONDS)
        except psycopg.Error:
            return False
        return True

    def close(self) -> None:
        self.db.close()

    def _insert_articles(self, tx: Tx, articles: list[Article], now: datetime,
                         payloads: Mapping[str, str]) -> list[Article]:
        if not articles:
            return []
        insert = _insert_postgresql if tx.dialect == "postgresql" else _insert_sqlite
        ids = insert(tx, articles, now, payloads)
        return [a for a in articles if a.id in ids]


class StoredPositions:
    """The sink's positions, as ``wirefeed positions sink`` reads and moves them: its stored offsets."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def read(self, topic: str) -> dict[int, int]:
        return self.store.offsets(topic)

    def write(self, topic: str, positions: dict[int, int]) -> None:
        self.store.write([], {(topic, p): o for p, o in positions.items()}, datetime.now(UTC))


def _insert_postgresql(tx: Tx, articles: list[Article], now: datetime, payloads: Mapping[str, str]) -> set[str]:
    """The whole batch in one statement and one round trip; RETURNING names the rows that were new."""
    columns = [list(column) for column in zip(*(_row(a, now, payloads) for a in articles), strict=True)]
    del columns[11]  # stored_at is bound once, not per row
    rows = tx.execute(_PG_INSERT, (now, *columns)).fetchall()
    return {str(row[0]) for row in rows}


def _insert_sqlite(tx: Tx, articles: list[Article], now: datetime, payloads: Mapping[str, str]) -> set[str]:
    """SQLite's executemany cannot return rows, so ask which ids exist first (same transaction)."""
    existing = _existing_ids(tx, [a.id for a in articles])
    new = [a for a in articles if a.id not in existing]
    tx.executemany(_SQLITE_INSERT, [_row(a, now, payloads) for a in new])
    return {a.id for a in new}


def _row(a: Article, now: datetime, payloads: Mapping[str, str]) -> tuple[Any, ...]:
    """Column values in ``_COLUMNS`` order."""
    return (a.id, a.story_id, a.version, a.feed_id, a.url, a.canonical_url, a.title, a.body_text,
            language_code(a.language), a.published_at, a.fetched_at, now, payloads.get(a.id) or a.model_dump_json(),
            _agency_key(a.agency))


def _agency_key(agency: str | None) -> str | None:
    """The ``agency_key`` of an article naming ``agency``: NULL when it names none, never '' (migration 0007's
    mark of a row an older sink wrote, not keyed yet)."""
    return fold_case(agency) or None


def _existing_ids(tx: Tx, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _SQLITE_IN_CHUNK):
        chunk = ids[start:start + _SQLITE_IN_CHUNK]
        marks = ", ".join("?" * len(chunk))  # placeholders only: the ids themselves are bound
        rows = tx.execute(f"SELECT article_id FROM articles WHERE article_id IN ({marks})", chunk).fetchall()
        found.update(str(row[0]) for row in rows)
    return found


def _upsert_stories(tx: Tx, articles: Iterable[Article], now: datetime) -> None:
    # One row per story (an upsert may not touch a row twice in one statement), sorted so that two
    # writers lock stories in the same order.
    latest: dict[str, Article] = {}
    for a in articles:
        if a.story_id not in latest or a.version > latest[a.story_id].version:
            latest[a.story_id] = a
    rows = [(story, a.id, a.version) for story, a in sorted(latest.items())]
    if tx.dialect == "postgresql":
        _execute_unnest(tx, _PG_UPSERT_STORIES, (now, now), rows)
    else:
        tx.executemany(_UPSERT_STORY, [(*row, now, now) for row in rows])


def _upsert_sources(tx: Tx, articles: Iterable[Article], now: datetime) -> None:
    counts: Counter[str] = Counter()
    names: dict[str, tuple[str | None, str | None]] = {}
    for a in articles:
        counts[a.feed_id] += 1
        previous = names.get(a.feed_id, (None, None))
        names[a.feed_id] = (a.source.name or previous[0], a.source.url or previous[1])
    rows = [(feed, *names[feed], n) for feed, n in sorted(counts.items())]
    if tx.dialect == "postgresql":
        _execute_unnest(tx, _PG_UPSERT_SOURCES, (now, now), rows)
    else:
        tx.executemany(_UPSERT_SOURCE, [(feed, name, url, now, now, n) for feed, name, url, n in rows])


def _execute_unnest(tx: Tx, sql: str, constants: tuple[Any, ...], rows: list[tuple[Any, ...]]) -> None:
    """Run a PostgreSQL ``unnest`` statement: the constants, then one array per column of ``rows``."""
    if rows:
        tx.execute(sql, (*constants, *(list(column) for column in zip(*rows, strict=True))))


# What may be published at a given time (``?``): an article that is not canceled or withheld and is out
# of embargo (in the stories list, the story's latest version: that alone decides), and, for an article
# of any version, a story whose latest version is not canceled or withheld (a kill or a hold covers every
# version and copy). Written as negations: PostgreSQL then expects most rows to pass and walks the
# published_at index for a page (11 ms at 350,000 articles); the positive form sorted the table (850 ms).
_HELD = "('canceled', 'withheld')"
RUNNABLE = {
    "postgresql": (f"NOT (coalesce({{t}}.payload->>'pubstatus', 'usable') IN {_HELD}) "
                   "AND NOT coalesce(({t}.payload->>'embargoed_until')::timestamptz > ?, FALSE)"),
    "sqlite": (f"NOT (coalesce(json_extract({{t}}.payload, '$.pubstatus'), 'usable') IN {_HELD}) "
               "AND NOT coalesce(julianday(json_extract({t}.payload, '$.embargoed_until')) > julianday(?), 0)"),
}
_STORY_NOT_HELD = {
    "postgresql": "NOT EXISTS (SELECT 1 FROM stories s JOIN articles l ON l.article_id = s.latest_article_id "
                  f"WHERE s.story_id = articles.story_id AND l.payload->>'pubstatus' IN {_HELD})",
    "sqlite": "NOT EXISTS (SELECT 1 FROM stories s JOIN articles l ON l.article_id = s.latest_article_id "
              f"WHERE s.story_id = articles.story_id AND json_extract(l.payload, '$.pubstatus') IN {_HELD})",
}


def publishable_filter(dialect: str, at: datetime, clauses: list[str], params: list[Any]) -> None:
    """Add the conditions of an article of the ``articles`` table one may publish at ``at``."""
    clauses += [RUNNABLE[dialect].format(t="articles"), _STORY_NOT_HELD[dialect]]
    params.append(at)


# Migration 0006 indexes this column: the agency's name as fold_case gives it, so that a filter matches any
# case alike on both engines (SQLite's lower() lowers ASCII only, PostgreSQL's follows the database's locale).
_AGENCY = "{t}.agency_key = ?"


def agency_filter(agency: str, clauses: list[str], params: list[Any], table: str = "articles") -> None:
    """Add the condition of an article (of ``table``, an ``articles`` row) whose agency is ``agency``: in any case
    of any alphabet, alike on both engines (``fold_case``), and by any name the normalizer knows it by
    ("Associated Press" finds AP's copy, which articles name "AP"). Read from the column the store fills with
    the article's agency folded, through migration 0006's index."""
    key = fold_case(_agency_name(agency))
    if not key:  # no agency's name; '' marks rows not keyed yet (migration 0007), which no name may find
        clauses.append("1 = 0")
        return
    clauses.append(_AGENCY.format(t=table))
    params.append(key)


def _agency_name(asked: str) -> str:
    """The name articles give the agency ``asked`` names. Acronyms are matched in any case here ("ria" is RIA
    Novosti): the normalizer matches them as written so as not to take a person called Ana for an agency,
    but whoever asks for an agency means one."""
    return canonical_agency(asked) or canonical_agency(asked.upper()) or asked


def article_filters(since: datetime | None, feed_id: str | None, story_id: str | None,
                    language: str | None = None, until: datetime | None = None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("published_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("published_at < ?")
        params.append(until)
    if feed_id is not None:
        clauses.append("feed_id = ?")
        params.append(feed_id)
    if story_id is not None:
        clauses.append("story_id = ?")
        params.append(story_id)
    if language is not None:
        clauses.append("language = ?")
        params.append(language_code(language))
    return clauses, params


#: Codes the normalizer gave a language before it gave it another: Bokmål was nb until it became
#: Norwegian's no, as language detection names it (Nynorsk stays nn).
_FORMER_CODES = {"nb": "no"}


def language_code(code: str | None) -> str | None:
    """The code the language column holds for ``code``, and a language filter looks up: Norwegian is no, and
    asking for nb finds it too. Migration 0005 moved the articles stored as nb; one still arriving as nb (a
    replay of older messages, a normalizer not yet upgraded) is stored under no as well, its JSON as the
    topic carried it."""
    return _FORMER_CODES.get(code, code) if code is not None else None


def keyset_rows(db: Database, columns: str, source: str, filters: tuple[list[str], list[Any]], *,
                key: tuple[str, ...], descending: bool = False, after: tuple[Any, ...] | None = None,
                page_rows: int = PAGE_ROWS, limit: int | None = None) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns FROM source WHERE clauses`` (``filters`` are the clauses and their parameters),
    ordered by the ``key`` columns, whose values end each row; at most ``limit`` rows, those after the
    key ``after``.

    Read ``page_rows`` at a time, each page starting after the last key of the one before: memory stays
    flat however many rows match, deep pages cost no more than the first, and no transaction stays open
    while the caller works. A row stored meanwhile may or may not be included.
    """
    left = limit
    while left is None or left > 0:
        size = page_rows if left is None else min(page_rows, left)
        sql, params = _ordered_query(columns, source, filters, key, descending=descending, after=after)
        rows = db.query(f"{sql} LIMIT ?", (*params, size))
        yield from rows
        if len(rows) < size:
            return
        after = tuple(rows[-1][-len(key):])
        left = None if left is None else left - size


def first_rows(db: Database, columns: str, source: str, filters: tuple[list[str], list[Any]], *,
               key: tuple[str, ...], descending: bool = False, after: tuple[Any, ...] | None = None, limit: int,
               fetch_rows: int) -> Generator[tuple[Any, ...], None, None]:
    """The first ``limit`` rows keyset_rows would give, from one query read ``fetch_rows`` at a time: for a
    caller that may stop early (a byte budget). Running the query again for each few rows cost a rare
    word's full-text search its whole matching work each time: a page of 500 took 50 times one query.
    Its transaction stays open until the iterator is closed."""
    sql, params = _ordered_query(columns, source, filters, key, descending=descending, after=after)
    return db.stream(f"{sql} LIMIT ?", (*params, limit), fetch_rows=fetch_rows)


def _ordered_query(columns: str, source: str, filters: tuple[list[str], list[Any]], key: tuple[str, ...], *,
                   descending: bool, after: tuple[Any, ...] | None) -> tuple[str, list[Any]]:
    """``SELECT columns, key FROM source WHERE clauses [AND key past after] ORDER BY key``, and its parameters."""
    clauses, params = filters
    direction, beyond = (" DESC", "<") if descending else ("", ">")
    order = ", ".join(f"{column}{direction}" for column in key)
    keys, marks = ", ".join(key), ", ".join("?" * len(key))
    page = [*clauses, f"({keys}) {beyond} ({marks})"] if after else clauses
    where = f"WHERE {' AND '.join(page)}" if page else ""
    return f"SELECT {columns}, {keys} FROM {source} {where} ORDER BY {order}", [*params, *(after or ())]


def _article(payload: Any) -> Article:
    return Article.from_data(payload if isinstance(payload, (dict, list)) else json.loads(payload))
