"""Queries of the read side (CLI and HTTP API) over what the sink stored, for both engines.

Only bound parameters carry user input; the few SQL fragments that differ (full-text match, optional
filters) are fixed strings chosen by code. Full text: the query is parsed once (``search.py``), then
given to PostgreSQL as a web-search string for ``websearch_to_tsquery('simple', ?)`` against the
generated ``search`` column, and to SQLite as FTS5 expressions whose every term is quoted, so that both
engines answer the same query alike and no input can be syntax to either.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import PubStatus
from services.core.db import Database, as_datetime
from services.core.timestamps import parse_timestamp, utc_timestamp
from services.sink.search import parse_query
from services.sink.store import (
    PAGE_ROWS,
    RUNNABLE,
    agency_filter,
    article_filters,
    first_rows,
    keyset_rows,
    publishable_filter,
)

# A story is listed as its latest article: articles are walked newest first (the published_at index) and
# each that is its story's latest is kept, so a page costs a few index probes per story however many are
# stored. Joining stories to articles and ordering the join made the planner read every story per page.
_STORY_COLUMNS = ("a.story_id, a.title, a.version, "
                  "(SELECT COUNT(DISTINCT c.feed_id) FROM articles c WHERE c.story_id = a.story_id), {status}")
# The latest version's pubstatus and embargo, read from its stored JSON: only for the rows listed.
_STORY_STATUS = {
    "postgresql": "a.payload->>'pubstatus', a.payload->>'embargoed_until'",
    "sqlite": "json_extract(a.payload, '$.pubstatus'), json_extract(a.payload, '$.embargoed_until')",
}
_IS_LATEST = "a.article_id = (SELECT s.latest_article_id FROM stories s WHERE s.story_id = a.story_id)"
_STORY_KEY = ("a.published_at", "a.article_id")

#: A search matching up to this many articles is answered from its matches, a larger one by walking the
#: newest articles (see Reader._match): either way a page costs a few milliseconds per thousand rows.
FEW_MATCHES = 2000
# An article among those keys (a list bound as an array; SQLite reads its rowids as JSON).
_AMONG = {
    "postgresql": "{t}.article_id = ANY(?)",
    "sqlite": "{t}.rowid IN (SELECT value FROM json_each(?))",
}
_VERSION_ORDER = ("version", "published_at", "article_id")  # a story's articles, oldest version first


@dataclass(frozen=True)
class ArticleKey:
    """Where an article sits in the newest-first order; a page ends at one, the next begins after it."""

    published_at: datetime
    article_id: str

    def cursor(self) -> str:
        """An opaque token for ``after=``; its content is not part of the API."""
        text = f"{self.published_at.isoformat()}\n{self.article_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def from_cursor(cls, cursor: str) -> ArticleKey:
        """The key a cursor names; ValueError for anything ``cursor()`` did not make."""
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            raise ValueError("not a cursor") from None
        published, _, article_id = text.partition("\n")
        if not article_id or "\x00" in article_id:
            raise ValueError("not a cursor")
        return cls(parse_timestamp(published), article_id)


@dataclass(frozen=True)
class ArticlePage:
    articles: list[dict[str, Any]]
    next: ArticleKey | None  # None on the last page


@dataclass(frozen=True)
class StorySummary:
    story_id: str
    title: str
    version: int
    outlets: int
    published_at: datetime
    pubstatus: PubStatus = PubStatus.USABLE  # the latest version's: a kill (canceled) ends the story
    embargoed_until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The story's line as the read API and ``wirefeed stories --json`` give it."""
        return {"story_id": self.story_id, "title": self.title, "latest_version": self.version,
                "outlets": self.outlets, "published_at": utc_timestamp(self.published_at),
                "pubstatus": self.pubstatus.value,
                "embargoed_until": utc_timestamp(self.embargoed_until) if self.embargoed_until else None}

    def status(self, now: datetime) -> str:
        """usable, withheld, canceled, or "embargoed until <time>" while the embargo lasts."""
        if self.pubstatus is PubStatus.USABLE and self.embargoed_until and self.embargoed_until > now:
            return f"embargoed until {utc_timestamp(self.embargoed_until)}"
        return self.pubstatus.value


@dataclass(frozen=True)
class SourceSummary:
    """A feed's articles in storage: how many, and when the first and the last were stored."""

    feed_id: str
    name: str | None
    url: str | None
    articles: int
    first_stored_at: datetime
    last_stored_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The source's line as the read API and ``wirefeed sources --json`` give it."""
        return {"feed_id": self.feed_id, "name": self.name, "url": self.url, "articles": self.articles,
                "first_stored_at": utc_timestamp(self.first_stored_at),
                "last_stored_at": utc_timestamp(self.last_stored_at)}


@dataclass(frozen=True)
class SourcePage:
    sources: list[SourceSummary]
    next: str | None  # the feed id the next page starts after; None on the last page


@dataclass(frozen=True)
class StoryPage:
    stories: list[StorySummary]
    next: ArticleKey | None  # the last story's latest article; None on the last page


@dataclass(frozen=True)
class StoryVersions:
    story_id: str
    latest_article_id: str
    latest_version: int
    articles: list[dict[str, Any]]  # every version and copy, oldest version first
    truncated: bool

    @property
    def outlets(self) -> int:
        return len({a["feed_id"] for a in self.articles})

    def as_json(self) -> dict[str, Any]:
        """The story as ``GET /stories/{id}`` and ``wirefeed story --json`` give it: its versions, each with
        every outlet's copy."""
        versions: dict[int, list[dict[str, Any]]] = {}
        for article in self.articles:
            versions.setdefault(int(article["version"]), []).append(article)
        return {
            "story_id": self.story_id,
            "latest_version": self.latest_version,
            "latest_article_id": self.latest_article_id,
            "outlets": self.outlets,
            "versions": [{"version": v, "copies": copies} for v, copies in sorted(versions.items())],
            "truncated": self.truncated,
        }


# Rows read at a time when an answer has a byte budget (articles are up to a Kafka message each, 1 MB).
_BUDGETED_ROWS = 20


class Reader:
    def __init__(self, db: Database) -> None:
        self.db = db

    def articles(self, *, query: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 feed_id: str | None = None, language: str | None = None, agency: str | None = None,
                 publishable_at: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Stored articles (full JSON, as published on the topic), newest first."""
        return self.page(query=query, since=since, until=until, feed_id=feed_id, language=language, agency=agency,
                         publishable_at=publishable_at, limit=limit).articles

    def page(self, *, query: str | None = None, since: datetime | None = None, until: datetime | None = None,
             feed_id: str | None = None, language: str | None = None, agency: str | None = None,
             publishable_at: datetime | None = None, after: ArticleKey | None = None, limit: int = 50,
             max_bytes: int | None = None) -> ArticlePage:
        """Up to ``limit`` articles newest first, starting after ``after``, and where the next page starts;
        with ``publishable_at``, only those one may publish then (see store.RUNNABLE); with ``max_bytes``,
        no more articles than fit in that much JSON (at least one).

        Keyset paging on (published_at, article_id): a page is the same whatever was stored since the
        previous one, and deep pages cost no more than the first.
        """
        clauses, params = article_filters(since, feed_id, None, language, until)
        if agency is not None:
            agency_filter(agency, clauses, params)
        if publishable_at is not None:
            publishable_filter(self.db.dialect, publishable_at, clauses, params)
        if query is not None:
            found = self._match(query, "articles")
            if found is None:
                return ArticlePage([], None)
            clauses.append(found.condition)
            params += found.params
        rows, following = self._page("payload", "articles", (clauses, params), ("published_at", "article_id"),
                                     after=after, limit=limit, max_bytes=max_bytes)
        return ArticlePage([_payload(payload) for payload, _, _ in rows], following)

    def stories(self, *, query: str | None = None, since: datetime | None = None, until: datetime | None = None,
                agency: str | None = None, publishable_at: datetime | None = None, limit: int | None = None,
                page_rows: int = PAGE_ROWS) -> Iterator[StorySummary]:
        """Stories whose latest version was published at or after ``since`` (and with ``query``, of which
        some version or copy matches it; with ``agency``, whose latest version is that agency's), newest
        first, read in keyset pages (memory stays flat, no transaction stays open)."""
        filters = self._story_filters(query, since, until, agency, publishable_at)
        if filters is None:
            return
        for row in keyset_rows(self.db, self._story_columns, "articles a", filters, key=_STORY_KEY, descending=True,
                               page_rows=page_rows, limit=limit):
            yield _story_summary(row)

    def story_page(self, *, query: str | None = None, since: datetime | None = None, until: datetime | None = None,
                   agency: str | None = None, publishable_at: datetime | None = None, after: ArticleKey | None = None,
                   limit: int = 50) -> StoryPage:
        """Up to ``limit`` stories newest first (by their latest version), starting after ``after``."""
        filters = self._story_filters(query, since, until, agency, publishable_at)
        if filters is None:
            return StoryPage([], None)
        rows, following = self._page(self._story_columns, "articles a", filters, _STORY_KEY, after=after, limit=limit)
        return StoryPage([_story_summary(row) for row in rows], following)

    def _page(self, columns: str, source: str, filters: tuple[list[str], list[Any]], key: tuple[str, str], *,
              after: ArticleKey | None, limit: int,
              max_bytes: int | None = None) -> tuple[list[tuple[Any, ...]], ArticleKey | None]:
        """One newest-first keyset page of rows ending in ``key``'s values (with ``max_bytes``, as many as
        the JSON of their first columns fits in, at least one), and the key the next page starts after
        (None on the last page)."""
        start = (after.published_at, after.article_id) if after else None
        # One more than asked says whether there is a next page. With a budget, rows come a few at a time:
        # the budget, not the limit, bounds what is held.
        rows = first_rows(self.db, columns, source, filters, key=key, descending=True, after=start,
                          limit=limit + 1, fetch_rows=_fetch_rows(limit + 1, max_bytes))
        with closing(rows):
            taken, more = _within(rows, limit, max_bytes)
        if not more:
            return taken, None
        *_, published, article_id = taken[-1]
        return taken, ArticleKey(_datetime(published), str(article_id))

    def _story_filters(self, query: str | None, since: datetime | None, until: datetime | None, agency: str | None,
                       publishable_at: datetime | None) -> tuple[list[str], list[Any]] | None:
        """The conditions on a story's latest version; None when ``query`` has nothing to search for."""
        clauses, params = [_IS_LATEST], list[Any]()
        if query is not None:
            # A story matches when any of its versions or outlets' copies does: one search finds the
            # story however each outlet headlined it.
            found = self._match(query, "m")
            if found is None:
                return None
            # Many: walk the stories newest first, each checked; few: look up those of the matches.
            clauses.append(f"EXISTS (SELECT 1 FROM articles m WHERE m.story_id = a.story_id AND {found.condition})"
                           if found.many else
                           f"a.story_id IN (SELECT m.story_id FROM articles m WHERE {found.condition})")
            params += found.params
        if since is not None:
            clauses.append("a.published_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("a.published_at < ?")
            params.append(until)
        if agency is not None:
            agency_filter(agency, clauses, params, table="a")
        if publishable_at is not None:
            clauses.append(RUNNABLE[self.db.dialect].format(t="a"))
            params.append(publishable_at)
        return clauses, params

    @property
    def _story_columns(self) -> str:
        return _STORY_COLUMNS.format(status=_STORY_STATUS[self.db.dialect])

    def source_page(self, *, after: str | None = None, limit: int = 50) -> SourcePage:
        """Up to ``limit`` sources (feeds that stored articles) by feed id, starting after ``after``."""
        rows = self.db.query(
            "SELECT feed_id, name, url, article_count, first_seen, last_seen FROM sources "
            "WHERE feed_id > ? ORDER BY feed_id LIMIT ?", (after or "", limit + 1))
        sources = [SourceSummary(str(fid), name, url, int(count), _datetime(first), _datetime(last))
                   for fid, name, url, count, first, last in rows[:limit]]
        return SourcePage(sources, sources[-1].feed_id if len(rows) > limit else None)

    def sources(self, page_rows: int = PAGE_ROWS) -> Iterator[SourceSummary]:
        """Every source by feed id, read a page at a time."""
        after: str | None = None
        while True:
            page = self.source_page(after=after, limit=page_rows)
            yield from page.sources
            if page.next is None:
                return
            after = page.next

    def article(self, article_id: str) -> dict[str, Any] | None:
        """One stored article (full JSON, as published on the topic), or None if unknown."""
        rows = self.db.query("SELECT payload FROM articles WHERE article_id = ?", (article_id,))
        return _payload(rows[0][0]) if rows else None

    def story(self, story_id: str, limit: int = 1000, max_bytes: int | None = None) -> StoryVersions | None:
        """Every stored version and copy of one story (at most ``limit``, and with ``max_bytes`` as many as
        fit in that much JSON, at least one), or None if unknown."""
        heads = self.db.query("SELECT latest_article_id, latest_version FROM stories WHERE story_id = ?", (story_id,))
        if not heads:
            return None
        rows = first_rows(self.db, "payload", "articles", (["story_id = ?"], [story_id]), key=_VERSION_ORDER,
                          limit=limit + 1, fetch_rows=_fetch_rows(limit + 1, max_bytes))
        with closing(rows):
            taken, truncated = _within(rows, limit, max_bytes)
        articles = [_payload(payload) for payload, *_ in taken]
        return StoryVersions(story_id, str(heads[0][0]), int(heads[0][1]), articles, truncated=truncated)

    def _match(self, query: str, table: str) -> Match | None:
        """The condition that a ``table`` row matches ``query``; None when none can (nothing to search for,
        or no article matches).

        The plan follows how many articles match, counted up to FEW_MATCHES first. A few: their ids are
        the condition, and the page is those looked up and sorted. More: the rows are walked newest first
        (the date index) and each is checked, which fills a page within a few thousand rows. Either plan
        alone was slow on the other's words: sorting every match of a word in most of 100,000 articles took
        a second a page on SQLite; walking the index for a rare word read it whole (PostgreSQL, unsure how
        rare a word is, walked it too: 0.2 s per 100,000 articles)."""
        search = self._full_text(query)
        if search is None:
            return None
        few = self.db.query(search.probe, (*search.values, FEW_MATCHES + 1)) if search.probe else None
        if few is not None and not few:
            return None
        if few is None or len(few) > FEW_MATCHES:
            return Match(search.condition.format(t=table), search.values, many=True)
        ids = [key for key, in few]
        return Match(_AMONG[self.db.dialect].format(t=table),
                     [ids if self.db.dialect == "postgresql" else json.dumps(ids)], many=False)

    def _full_text(self, query: str) -> FullText | None:
        """The full-text condition and its probe; None when there is nothing to search for."""
        parsed = parse_query(query)
        if parsed is None:
            return None
        if self.db.dialect == "postgresql":
            return FullText("{t}.search @@ websearch_to_tsquery('simple', ?)", [parsed.websearch()],
                            "SELECT article_id FROM articles WHERE search @@ websearch_to_tsquery('simple', ?) LIMIT ?")
        search = parsed.fts5()
        # A unary plus keeps SQLite from looking up every match by rowid and sorting them all (its
        # documented way to steer the planner): this condition is for many matches.
        found = "+{t}.rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
        conditions = [(found, search.match)] if search.match else []
        conditions += [(f"NOT {found}", terms) for terms in search.excluding]
        # An "IN (SELECT …)" is read whole before a LIMIT applies, so the probe asks the index itself; a
        # search for articles without a word finds most of them, and is not probed.
        probe = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?" if not search.excluding else None
        return FullText(f"({' OR '.join(sql for sql, _ in conditions)})", [expression for _, expression in conditions],
                        probe)


@dataclass(frozen=True)
class Match:
    """A search's condition on a table's rows and its parameters; ``many``: more than FEW_MATCHES match,
    so the rows are walked newest first and each checked, rather than looked up from the matches."""

    condition: str
    params: list[Any]
    many: bool


@dataclass(frozen=True)
class FullText:
    """A search's condition on a row of a table ``t`` (a template), its parameters, and the query that
    gives the keys (``_AMONG``'s) of the first matches, given the same parameters and a limit (None: not
    probed)."""

    condition: str
    values: list[Any]
    probe: str | None


def _story_summary(row: tuple[Any, ...]) -> StorySummary:
    story, title, version, outlets, pubstatus, embargo, published, _ = row
    return StorySummary(str(story), str(title), int(version), int(outlets), _datetime(published),
                        PubStatus(pubstatus or PubStatus.USABLE), parse_timestamp(embargo) if embargo else None)


def _fetch_rows(limit: int, max_bytes: int | None) -> int:
    """Rows fetched at a time: with a byte budget, a few, so that no more than the budget is held."""
    return limit if max_bytes is None else min(limit, _BUDGETED_ROWS)


def _within(rows: Iterable[tuple[Any, ...]], limit: int,
            max_bytes: int | None) -> tuple[list[tuple[Any, ...]], bool]:
    """The first ``limit`` rows, and with ``max_bytes`` only as many as the JSON of their first columns
    fits in (at least one); and whether any row was left out."""
    taken: list[tuple[Any, ...]] = []
    spent = 0
    for row in rows:
        spent += 0 if max_bytes is None else _json_size(row[0])
        if len(taken) == limit or (max_bytes is not None and taken and spent > max_bytes):
            return taken, True
        taken.append(row)
    return taken, False


def _json_size(payload: Any) -> int:
    """The length of a stored article's JSON: SQLite hands back the text, PostgreSQL the parsed JSONB."""
    return len(payload) if isinstance(payload, str | bytes) else len(json.dumps(payload))


def _payload(payload: Any) -> dict[str, Any]:
    # PostgreSQL hands JSONB back as a dict; SQLite stores the JSON text.
    if isinstance(payload, dict):
        return payload
    value = json.loads(payload)
    if not isinstance(value, dict):
        raise TypeError(f"stored payload is not a JSON object: {type(value).__name__}")
    return value


def _datetime(value: Any) -> datetime:
    parsed = as_datetime(value)
    if parsed is None:
        raise TypeError("a stored time is NULL")
    return parsed
