"""Deduplication and story grouping, durable and safe across normalizer replicas.

A polled batch is decided in one transaction (``decide_batch``), article after article in order, so an
article sees what the batch's earlier articles claimed; the commit, most of the database's cost per
article, is paid once per batch. When a claim is lost to another replica or the database breaks a
deadlock between two replicas' batches, the batch is rolled back whole and its articles are decided one
transaction each (``decide``), the path whose retries settle races.

Per article: one read (``_READ``: the article if known, the owners of its content,
URL and item fingerprints, and the stories owning its LSH band keys with their MinHash signatures), a
pure decision (``plan``), then the writes. Every write that another replica could race for is a claim
on a unique key, ``INSERT ... ON CONFLICT DO NOTHING``: fingerprints, story rows and band keys. A claim
that comes back empty means another replica decided first; the transaction is rolled back and decided
again against what that replica committed, so two replicas given two copies of one story at once end
with one story id. Band rows go in sorted, so two such transactions cannot deadlock.

Verdicts: an exact repeat (same content or URL) is a DUPLICATE and not published; the same item with new
content, the same text sent again by its outlet under another release status (a kill, a withhold, a moved
embargo: the article id counts the status), or a near-duplicate from the same feed or with a wire slug
(``UPDATE 2-``), is a NEW_VERSION; a near-duplicate from another feed is a COPY (published, same story id,
``duplicate_of`` and ``similarity`` set); anything else is NEW. A canceled article cancels its story, and
every later version or copy inherits it, unless it is a COPY: then the copy alone is canceled. A kill from
a feed not marked as an agency's is its source's takedown: it cancels the story though other outlets carry
it (it may be the agency's own kill, unmarked: over-cancelling is the lesser harm), unless the agency's
own marked wire carries it: another feed's article from its agency's marked wire (``agency_wire``), that
feed having withdrawn none. Looked up under the story's row lock, so such a copy joining at the same time
is seen or inherits the kill. Then the kill is a COPY withdrawing that source's copy alone, even when its
article began the story (``copy_withdrawn``). A kill or hold from a feed the feeds file marks as an
agency's own wire, of that agency's story, is never a COPY: it is the story's next version, and a kill
cancels the story, whichever outlet's copy began it and whoever else carries it (``agency_status``).
Claims remember their article, so a redelivered message (after a crash between claim and produce) is
published again instead of vanishing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
import structlog

from schemas import Article, PubStatus
from services.core.db import Database, Tx
from services.normalizer.agencies import canonical_agency
from services.normalizer.neardup import (
    ANCHOR_BAND,
    Candidate,
    Fingerprint,
    Lead,
    Match,
    NearDup,
    is_numbered_update,
    is_wire_update,
)
from services.normalizer.normalize import release_status
from services.normalizer.urls import page_key

log = structlog.get_logger(__name__)

ATTEMPTS = 3
# A text whose lead (its first 100 words) has this many times the shingles of the lead of the article that
# claimed its URL first is that page's fuller text, not a repeat.
FULLER_LEAD_RATIO = 2
PURGE_BATCH_ROWS = 5_000
# Why an article joins its story as its outlet's next text: an edit of its item, a near-duplicate from its feed.
_EDITS = frozenset({"edit", "same_source_edit"})
# A story's row (its version counter, a few dozen bytes) outlives its articles' claims and signatures by
# this many windows, so an item edited after the window goes on counting its story's versions.
STORY_MEMORY_WINDOWS = 4
# What a purge forgets, table by table: key, the time it is aged by, and after how many windows. Articles
# go before their bands and stories: between two batches a band whose article is gone matches nothing
# (lookups join the two), as after the whole purge.
_PURGED = (("dedup_fingerprints", "kind, fingerprint", "created_at", 1),
           ("dedup_articles", "article_id", "created_at", 1), ("dedup_bands", "band_index, band_hash", "created_at", 1),
           ("dedup_stories", "story_id", "updated_at", STORY_MEMORY_WINDOWS),
           ("dedup_published", "article_id", "created_at", STORY_MEMORY_WINDOWS))


class Verdict(StrEnum):
    NEW = "new"                    # first time: publish
    NEW_VERSION = "new_version"    # an edit, update or refile of a story already seen: publish as version n+1
    COPY = "copy"                  # another outlet's copy of a story already seen: publish, grouped
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


class DedupConflictError(RuntimeError):
    """Lost the same race several times in a row: something else keeps writing the same keys."""


class _LostRace(Exception):  # noqa: N818  # control flow inside decide(), never escapes it
    """A claim found another replica's row: roll back and decide again."""


#: Why a batch transaction gives way to one transaction per article: a claim lost to another replica, or
#: two replicas' batches claiming keys in opposite orders (PostgreSQL aborts one of them).
_BATCH_CONTENDED: tuple[type[Exception], ...] = (_LostRace, psycopg.errors.DeadlockDetected,
                                                 psycopg.errors.SerializationFailure)


@dataclass(frozen=True)
class StoryState:
    story_id: str
    first_article_id: str
    version: int  # the version an article joining it now takes, unless it is a copy of a matched version
    canceled: bool
    remembered: bool = False  # a NEW item's story, remembered past the window: the item was edited
    withdrawn: bool = False  # a takedown of a story its agency's wire carries: of its source's copy alone
    late_original: bool = False  # its original, arrived after an update its wire numbered: below the latest


@dataclass(frozen=True)
class Owner:
    """The article that claimed a text or a URL first."""

    feed_id: str
    status: str | None
    is_copy: bool
    lead_shingles: int  # 0 for a text too short to have a lead


@dataclass
class Snapshot:
    """What the read returned, sorted by kind."""

    known: tuple[Any, ...] | None = None
    claims: dict[str, tuple[str, str]] = field(default_factory=dict)   # kind -> (article id, story id)
    item_story: str | None = None     # the story this item joined, when that story is still there
    item_is_copy: bool = False        # it joined it as another outlet's copy
    content_owner: Owner | None = None  # read only when another article claimed this text
    url_owner: Owner | None = None      # or this URL
    own_story_texts: set[str] = field(default_factory=set)  # its story's first and latest article ids
    published_before: bool = False  # this article id was published, in whichever story (kept past the window)
    restored: tuple[str, str, str] | None = None  # (story, new id, its id): a text its item sent again
    candidates: list[Candidate] = field(default_factory=list)
    taken_bands: set[tuple[int, int]] = field(default_factory=set)


@dataclass(frozen=True)
class Plan:
    verdict: Verdict
    story_id: str
    reason: str | None
    match: Match | None
    claims: list[tuple[str, str]]
    bands: list[tuple[int, int]]
    restores: str | None = None  # the id of the text it sends again
    agency_status: bool = False  # the agency's own kill or hold of its story (``is_agency_status``)
    agency_wire: bool = False  # it came from its agency's own wire (``from_its_agency_wire``)


class DedupStore:
    def __init__(self, db: Database, window: timedelta = timedelta(days=7), near: NearDup | None = None) -> None:
        self.db = db
        self.window = window
        self.near = near or NearDup()

    def migrate(self) -> None:
        self.db.migrate("normalizer", "services.normalizer")

    def decide(self, article: Article, now: datetime, feed_agency: str | None = None) -> Decision:
        """One article in a transaction of its own; a lost claim race is decided again. ``feed_agency``: its
        raw item's, the agency whose own wire its feed is (None for a feed not marked so)."""
        return self._decide_alone(article, self.near.fingerprint(article), now, feed_agency)  # CPU work outside

    def decide_batch(self, articles: Sequence[Article], now: datetime,
                     fingerprints: Sequence[Fingerprint] | None = None,
                     feed_agencies: Sequence[str | None] | None = None) -> list[Decision]:
        """Decisions for ``articles`` in order, as ``decide`` one after the other would make them.

        ``fingerprints`` (``self.near.fingerprint`` of each article) may be computed by the caller: right
        after normalizing an article its words are still remembered, which halves the work.
        ``feed_agencies``: each article's ``feed_agency``, as ``decide`` takes it (none marked when omitted).
        """
        if fingerprints is None:
            fingerprints = [self.near.fingerprint(article) for article in articles]  # CPU work outside
        if not articles:
            return []
        inputs = list(zip(articles, fingerprints, feed_agencies or [None] * len(articles), strict=True))
        try:
            with self.db.transaction() as tx:
                return [self._decide(tx, article, fingerprint, now, agency) for article, fingerprint, agency in inputs]
        except _BATCH_CONTENDED as error:
            # Another replica is deciding the same stories right now: settle them one article at a time.
            log.info("dedup_batch_contended", articles=len(articles), error_class=type(error).__name__)
        return [self._decide_alone(article, fingerprint, now, agency) for article, fingerprint, agency in inputs]

    def _decide_alone(self, article: Article, fingerprint: Fingerprint, now: datetime,
                      feed_agency: str | None) -> Decision:
        for _ in range(ATTEMPTS):
            try:
                with self.db.transaction() as tx:
                    return self._decide(tx, article, fingerprint, now, feed_agency)
            except _LostRace:
                continue
        raise DedupConflictError(f"article {article.id}: lost the claim race {ATTEMPTS} times")

    def mark_published(self, article_ids: list[str]) -> None:
        """Mark them published, and remember their ids as long as their stories: sent again after the window,
        such a text is a repeat."""
        with self.db.transaction() as tx:
            tx.executemany("UPDATE dedup_articles SET published = ? WHERE article_id = ?",
                           [(True, article_id) for article_id in article_ids])
            # Sorted, so that two replicas marking the same articles cannot deadlock.
            tx.executemany("INSERT INTO dedup_published (article_id, story_id, created_at) SELECT article_id, "
                           "story_id, created_at FROM dedup_articles WHERE article_id = ? "
                           "ON CONFLICT (article_id) DO NOTHING", [(article_id,) for article_id in sorted(article_ids)])

    def purge(self, now: datetime, batch_rows: int = PURGE_BATCH_ROWS,
              progress: Callable[[], None] = lambda: None) -> int:
        """Forget what is older than the window, keeping tables (and lookups) bounded: in short transactions
        of ``batch_rows`` each, so that replicas' decisions get in between and a backlog (the first purge
        after days away) holds no lock for long; ``progress`` is called after each."""
        removed = 0
        for table, key, column, windows in _PURGED:
            cutoff = now - windows * self.window
            while True:
                with self.db.transaction() as tx:
                    batch = tx.execute(f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} "
                                       f"WHERE {column} < ? LIMIT ?)", (cutoff, batch_rows)).rowcount
                removed += batch
                progress()
                if batch < batch_rows:
                    break
        return removed

    def _decide(self, tx: Tx, article: Article, fingerprint: Fingerprint, now: datetime,
                feed_agency: str | None = None) -> Decision:
        snapshot = read(tx, article, fingerprint)
        if snapshot.restored is not None:
            article = article.model_copy(update={"id": snapshot.restored[1]})
        agency_wire = from_its_agency_wire(article, feed_agency)
        decided = plan(article, fingerprint, snapshot, self.near,
                       agency_status=agency_wire and _kill_or_hold(article), agency_wire=agency_wire)
        if isinstance(decided, Decision):
            return decided
        return _write(tx, article, fingerprint, decided, now)


# -- read ------------------------------------------------------------------------------------------------

# One statement, three kinds of rows, so a decision costs one round trip to read. Placeholder NULLs are
# typed because PostgreSQL types a UNION's columns from its first branches.
_NULLS = {"t": "CAST(NULL AS TEXT)", "i": "CAST(NULL AS INTEGER)", "b": "CAST(NULL AS BOOLEAN)",
          "r": "CAST(NULL AS REAL)", "x": "CAST(NULL AS BYTEA)", "l": "CAST(NULL AS BIGINT)"}
_BAND_ROWS = (
    "SELECT 'band', b.story_id, b.article_id, a.version, "
    "EXISTS (SELECT 1 FROM dedup_articles x WHERE x.story_id = b.story_id AND x.feed_id = ?), "
    "s.first_article_id, s.latest_version, s.canceled, a.signature, {r}, b.band_index, b.band_hash, "
    "a.lead_signature, a.lead_shingles "
    "FROM dedup_bands b JOIN dedup_articles a ON a.article_id = b.article_id "
    "JOIN dedup_stories s ON s.story_id = b.story_id WHERE {terms}")
_CLAIM_ROWS = (
    "SELECT 'claim', f.story_id, f.article_id, "
    "(SELECT CASE WHEN a.kind = 'copy' THEN 1 ELSE 0 END FROM dedup_articles a WHERE a.article_id = f.article_id), "
    "{b}, f.kind, s.latest_version, s.canceled, {x}, {r}, "
    "{i}, {l}, {x}, {i} FROM dedup_fingerprints f LEFT JOIN dedup_stories s ON s.story_id = f.story_id WHERE {terms}")
# The article's own story (its item's, before grouping): after the window it outlives the claims.
_STORY_ROWS = (
    "SELECT 'story', s.story_id, s.latest_article_id, s.latest_version, {b}, s.first_article_id, {i}, s.canceled, "
    "{x}, {r}, {i}, {l}, {x}, {i} FROM dedup_stories s WHERE s.story_id = ?")
# This very text of this item, published before: remembered as long as the story rows.
_PUBLISHED_ROWS = (
    "SELECT 'published', p.story_id, p.article_id, {i}, {b}, {t}, {i}, {b}, {x}, {r}, {i}, {l}, {x}, {i} "
    "FROM dedup_published p WHERE p.article_id = ?")
_KNOWN_ROWS = (
    "SELECT 'known', a.story_id, a.article_id, a.version, a.published, a.duplicate_of, s.latest_version, "
    "s.canceled, {x}, a.similarity, CASE WHEN a.kind = 'copy' THEN 1 ELSE 0 END, {l}, {x}, {i} "
    "FROM dedup_articles a LEFT JOIN dedup_stories s ON s.story_id = a.story_id WHERE a.article_id = ?")


def _claim_keys(article: Article) -> list[tuple[str, str]]:
    keys = [("content", article.content_hash)]
    if article.canonical_url:
        keys.append(("url", page_key(article.canonical_url, article.url)))
    keys.append(("item", article.story_id))  # before grouping, story_id is the item's own id
    return keys


def read(tx: Tx, article: Article, fingerprint: Fingerprint) -> Snapshot:
    keys = _claim_keys(article)
    parts: list[str] = []
    params: list[Any] = []
    if fingerprint.bands:
        terms = " OR ".join(["(b.band_index = ? AND b.band_hash = ?)"] * len(fingerprint.bands))
        parts.append(_BAND_ROWS.format(terms=terms, **_NULLS))
        params += [article.feed_id, *(value for key in fingerprint.bands for value in key)]
    parts.append(_CLAIM_ROWS.format(terms=" OR ".join(["(f.kind = ? AND f.fingerprint = ?)"] * len(keys)), **_NULLS))
    params += [value for key in keys for value in key]
    parts.append(_KNOWN_ROWS.format(**_NULLS))
    params.append(article.id)
    parts.append(_STORY_ROWS.format(**_NULLS))
    params.append(article.story_id)
    parts.append(_PUBLISHED_ROWS.format(**_NULLS))
    params.append(article.id)
    snapshot = _snapshot(tx.execute(" UNION ALL ".join(parts), params).fetchall(), article)
    if snapshot.known is not None and _moved_on(tx, snapshot.known, article):
        snapshot.restored = str(snapshot.known[1]), restored_article_id(article), article.id
        snapshot.known = tx.execute(_KNOWN_ROWS.format(**_NULLS), (snapshot.restored[1],)).fetchone()
    content = snapshot.claims.get("content")
    url = snapshot.claims.get("url")
    if snapshot.known is None:
        if content is not None and content[0] != article.id:
            snapshot.content_owner = _owner(tx, content[0])
        if url is not None and url[0] != article.id:
            snapshot.url_owner = _owner(tx, url[0])
    return snapshot


def _moved_on(tx: Tx, known: tuple[Any, ...], article: Article) -> bool:
    """The known article was published as a version of its story, the story's latest version since came
    from the same item with another text (not this one sent again before), and this one was fetched after
    it: the item went back to that text. A replay or a redelivery of the old message carries the old fetch
    time; an item sent again unchanged while another item (a wire update) moved its story on is a repeat."""
    story_id, version, latest = str(known[1]), int(known[3]), known[6]
    if not known[4] or known[10] != 0 or latest is None or version >= int(latest):
        return False
    fetched_at = article.fetched_at.astimezone(UTC)
    return tx.execute(
        "SELECT 1 FROM dedup_articles k JOIN dedup_articles l ON l.story_id = ? AND l.version = ? "
        "AND l.kind <> 'copy' AND l.item_id = ? WHERE k.article_id = ? AND k.fetched_at < ? "
        "AND NOT (COALESCE(l.restores, '') = ? AND l.fetched_at < ?)",
        (story_id, int(latest), article.item_id, article.id, fetched_at, article.id, fetched_at)).fetchone() is not None


def restored_article_id(article: Article) -> str:
    """The id of a text its item sent before, sent again: one per sending, so the sink stores it."""
    sending = f"{article.id}\x1f{article.fetched_at.astimezone(UTC).isoformat()}"
    return hashlib.sha256(sending.encode()).hexdigest()[:32]


def _owner(tx: Tx, article_id: str) -> Owner | None:
    # A second round trip, paid only by articles whose text or URL is known already: mostly duplicates.
    row = tx.execute("SELECT feed_id, status, kind, lead_shingles FROM dedup_articles WHERE article_id = ?",
                     (article_id,)).fetchone()
    return None if row is None else Owner(str(row[0]), row[1], row[2] == "copy", int(row[3] or 0))


def _snapshot(rows: list[tuple[Any, ...]], article: Article) -> Snapshot:
    snapshot = Snapshot()
    for row in rows:
        tag, story_id, article_id = row[0], str(row[1]), str(row[2])
        if tag == "known":
            snapshot.known = row
        elif tag == "story":
            snapshot.own_story_texts = {str(value) for value in (row[2], row[5]) if value is not None}
        elif tag == "published":
            snapshot.published_before = True
        elif tag == "claim":
            snapshot.claims[str(row[5])] = (article_id, story_id)
            if row[5] == "item" and row[6] is not None:
                snapshot.item_story = story_id
                snapshot.item_is_copy = row[3] == 1
        else:
            band = (int(row[10]), int(row[11]))
            snapshot.taken_bands.add(band)
            if row[8] is not None:
                lead = Lead(bytes(row[12]), int(row[13])) if row[12] is not None else None
                snapshot.candidates.append(Candidate(story_id, article_id, bytes(row[8]), int(row[3]), bool(row[4]),
                                                     lead=lead, anchored=band[0] == ANCHOR_BAND))
    return snapshot


# -- decide (pure) ---------------------------------------------------------------------------------------

def is_agency_status(article: Article, feed_agency: str | None) -> bool:
    """A kill or hold sent by an agency's own wire (``feed_agency``, the feeds file's mark) of that agency's
    story: the article names that agency (by any name it goes by, else as written, in any case) or none,
    as a kill notice often does. It holds for the whole story, whichever outlet's copy began it: a legal
    kill lost costs far more than one outlet's copy withdrawn with it. An outlet's takedown never is one."""
    return _kill_or_hold(article) and from_its_agency_wire(article, feed_agency)


def _kill_or_hold(article: Article) -> bool:
    return article.pubstatus is not PubStatus.USABLE


def from_its_agency_wire(article: Article, feed_agency: str | None) -> bool:
    """The article came from its agency's own wire: a feed marked with the agency (``feed_agency``) the
    article names (by any name it goes by, else as written, in any case), or names none."""
    if feed_agency is None:
        return False
    return article.agency is None or _agency_key(article.agency) == _agency_key(feed_agency)


def _agency_key(name: str) -> str:
    return (canonical_agency(name) or name.strip()).casefold()


def plan(article: Article, fingerprint: Fingerprint, snapshot: Snapshot, near: NearDup, *,
         agency_status: bool = False, agency_wire: bool = False) -> Plan | Decision:
    """What to do with ``article`` given what the database holds: a final Decision, or a Plan to write.
    ``agency_status``: it is an agency's kill or hold of its story (``is_agency_status``); ``agency_wire``:
    it came from its agency's own wire (``from_its_agency_wire``)."""
    if snapshot.known is not None:
        return _known(article, snapshot.known)
    if (article.id in snapshot.own_story_texts or snapshot.published_before) and snapshot.item_story is None:
        # A text this item sent before (its story's first, latest or any version between, or what it sent
        # to another story), again after the window forgot the article: an item sent again unchanged (a
        # poller that lost its memory of it), not the story's next version under an id consumers hold
        # already. Whether it came back after its story moved on, as a restore, the window forgot too.
        return Decision(Verdict.DUPLICATE, article, "repeat", duplicate_of=article.id)
    if snapshot.restored is not None:  # a withheld story released, an edit undone: news again
        return Plan(Verdict.NEW_VERSION, snapshot.restored[0], "restored", None, [], [], restores=snapshot.restored[2],
                    agency_status=agency_status, agency_wire=agency_wire)
    content = snapshot.claims.get("content")
    if content is not None and content[0] != article.id:
        if _restatused(article, snapshot, content[1]):
            verdict, story_id, reason, match = _status_target(article, snapshot, content[1], agency_status)
        elif agency_status and _not_its_own_repeat(article, snapshot.content_owner) \
                and not _story_shows_it(article, snapshot, content[1]):
            verdict, story_id, reason, match = (Verdict.NEW_VERSION, snapshot.item_story or content[1],
                                                "agency_status", None)
        else:
            return Decision(Verdict.DUPLICATE, article, "same_content", duplicate_of=content[0])
    else:
        verdict, story_id, reason, match = _target(article, fingerprint, snapshot, near, agency_status)
    url = snapshot.claims.get("url")
    if url is not None and url[0] != article.id and url[1] != story_id:
        if verdict is not Verdict.NEW or not _fuller(fingerprint, snapshot.url_owner):
            return Decision(Verdict.DUPLICATE, article, "same_url", duplicate_of=url[0])
        # The page's fuller text is the story's next version, from whichever feed: its latest shows it.
        verdict, story_id, reason = Verdict.NEW_VERSION, url[1], "fuller_text"
    claims = [key for key in _claim_keys(article) if key[0] not in snapshot.claims]
    bands = sorted(key for key in fingerprint.bands if key not in snapshot.taken_bands)
    return Plan(verdict, story_id, reason, match, claims, bands, agency_status=agency_status,
                agency_wire=agency_wire)


def _target(article: Article, fingerprint: Fingerprint, snapshot: Snapshot, near: NearDup,
            agency_status: bool) -> tuple[Verdict, str, str | None, Match | None]:
    """Which story the article belongs to, and as what."""
    if snapshot.item_story is not None:
        return _item_target(article, snapshot.item_story, snapshot.item_is_copy, agency_status)
    match = near.best_match(fingerprint, snapshot.candidates)
    if match is None:
        return Verdict.NEW, article.story_id, None, None
    if is_wire_update(article):
        return Verdict.NEW_VERSION, match.story_id, "wire_update", match
    if not match.same_feed:
        return _another_feeds_story(match, agency_status)
    if match.similarity >= near.config.same_feed_threshold:
        return Verdict.NEW_VERSION, match.story_id, "same_source_edit", match
    # The same outlet's boilerplate makes its short stories look alike: not enough to call it an edit.
    return Verdict.NEW, article.story_id, None, None


def _another_feeds_story(match: Match, agency_status: bool) -> tuple[Verdict, str, str, Match]:
    """A near-duplicate of a story no article of this feed is in: another outlet's copy of it, unless it
    is the agency's kill or hold of its story, which an outlet's copy began."""
    if agency_status:
        return Verdict.NEW_VERSION, match.story_id, "agency_status", match
    return Verdict.COPY, match.story_id, "excerpt" if match.contained else "near_duplicate", match


def _restatused(article: Article, snapshot: Snapshot, content_story: str) -> bool:
    """The outlet that sent this text sends it again under another release status (a kill, a withhold,
    a moved or lifted embargo): news for every reader of the story, not a repeat. Another outlet's
    repeat stays one, or anyone could kill anyone's story."""
    owner = snapshot.content_owner
    return (owner is not None and owner.feed_id == article.feed_id and _status_differs(article, owner)
            and snapshot.item_story in (None, content_story))


def _status_differs(article: Article, owner: Owner | None) -> bool:
    return owner is not None and owner.status != release_status(article.pubstatus, article.embargoed_until)


def _not_its_own_repeat(article: Article, owner: Owner | None) -> bool:
    """The agency's kill or hold of a text another feed claimed first (an outlet's copy, even one that
    outlet sent killed), or its own text sent under another status: not a repeat, whatever that outlet did."""
    return owner is not None and (owner.feed_id != article.feed_id or _status_differs(article, owner))


def _story_shows_it(article: Article, snapshot: Snapshot, content_story: str) -> bool:
    """The text is claimed by a version of the very story it would join (no outlet's copy) under the same
    release status: that kill or hold is the story's already (another feed marked with the same agency, such
    as Reuters World and Reuters Top News, sent it first), so this one is a repeat, not a version again."""
    owner = snapshot.content_owner
    return (owner is not None and not owner.is_copy and not _status_differs(article, owner)
            and snapshot.item_story in (None, content_story))


def _status_target(article: Article, snapshot: Snapshot, story_id: str,
                   agency_status: bool) -> tuple[Verdict, str, str | None, Match | None]:
    owner_is_copy = snapshot.content_owner is not None and snapshot.content_owner.is_copy
    verdict, _, reason, _ = _item_target(article, story_id, owner_is_copy, agency_status)
    return verdict, story_id, reason if reason in ("copy_withdrawn", "agency_status") else "status_change", None


def _fuller(fingerprint: Fingerprint, owner: Owner | None) -> bool:
    """This text tells far more of the page than the one that claimed its URL first: an aggregator's
    one-line item (Google News) arriving before the publisher's full story must not drop it."""
    mine = fingerprint.lead.shingles if fingerprint.lead else 0
    return owner is not None and mine >= FULLER_LEAD_RATIO * max(owner.lead_shingles, 1)


def _item_target(article: Article, story_id: str, joined_as_copy: bool,
                 agency_status: bool) -> tuple[Verdict, str, str, None]:
    """An item seen before, in a story still there: an edit is a new version of that story. An outlet
    withdrawing the copy it had published withdraws that copy alone (as one sent withdrawn does): as a new
    version it would have killed the story, and shown "removed" as its latest text. The agency's own wire
    killing its story kills it, whoever's copy began it."""
    if joined_as_copy and article.pubstatus is PubStatus.CANCELED:
        if agency_status:
            return Verdict.NEW_VERSION, story_id, "agency_status", None
        return Verdict.COPY, story_id, "copy_withdrawn", None
    return Verdict.NEW_VERSION, story_id, "edit", None


def _known(article: Article, row: tuple[Any, ...]) -> Decision:
    story_id, version, published = str(row[1]), int(row[3]), bool(row[4])
    update: dict[str, Any] = {"story_id": story_id, "version": version, "duplicate_of": row[5],
                              "similarity": None if row[9] is None else float(row[9])}
    if row[7]:
        update["pubstatus"] = PubStatus.CANCELED
    decided = article.model_copy(update=update)
    if published:
        return Decision(Verdict.DUPLICATE, decided, "repeat", duplicate_of=article.id)
    return Decision(Verdict.REDELIVERED, decided)


# -- write -----------------------------------------------------------------------------------------------

def _write(tx: Tx, article: Article, fingerprint: Fingerprint, plan: Plan, now: datetime) -> Decision:
    lead = fingerprint.lead
    _claim(tx, plan, article, now)
    state = _story(tx, plan, article, now)
    if state.withdrawn:
        plan = replace(plan, verdict=Verdict.COPY, reason="copy_withdrawn")
    elif state.remembered:
        plan = replace(plan, verdict=Verdict.NEW_VERSION, reason="edit_after_window")
    elif state.late_original:
        plan = replace(plan, reason="late_original")
    version = _version(plan, state, article)
    kind = {Verdict.NEW: "story", Verdict.COPY: "copy"}.get(plan.verdict, "version")
    if state.late_original:
        kind = "late_original"  # version 1, beside the original itself when that came first
    duplicate_of = state.first_article_id if plan.verdict is Verdict.COPY else None
    similarity = plan.match.similarity if plan.match else None
    tx.execute("INSERT INTO dedup_articles (article_id, story_id, version, published, created_at, kind, feed_id, "
               "duplicate_of, similarity, signature, lead_signature, lead_shingles, status, fetched_at, restores, "
               "item_id, headline_numbered, agency_wire) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (article.id, plan.story_id, version, False, now, kind, article.feed_id, duplicate_of, similarity,
                fingerprint.signature, lead.signature if lead else None, lead.shingles if lead else None,
                release_status(article.pubstatus, article.embargoed_until), article.fetched_at.astimezone(UTC),
                plan.restores, article.item_id, is_numbered_update(article), plan.agency_wire))
    _bands(tx, plan, article, now)
    update: dict[str, Any] = {"story_id": plan.story_id, "version": version, "duplicate_of": duplicate_of,
                              "similarity": similarity}
    if state.canceled:
        update["pubstatus"] = PubStatus.CANCELED
    return Decision(plan.verdict, article.model_copy(update=update), plan.reason,
                    duplicate_of=duplicate_of or (plan.match.article_id if plan.match else None))


def _insert_new(tx: Tx, table_and_columns: str, key: str, rows: Sequence[tuple[object, ...]]) -> int:
    """One multi-row INSERT that skips rows whose key exists; returns how many were new (claims won).

    Table, columns and key are fixed strings from this module; every value is a bound parameter.
    """
    values = ", ".join(["(" + ", ".join("?" * len(rows[0])) + ")"] * len(rows))
    return tx.execute(f"INSERT INTO {table_and_columns} VALUES {values} ON CONFLICT ({key}) DO NOTHING",
                      [v for row in rows for v in row]).rowcount


def _claim(tx: Tx, plan: Plan, article: Article, now: datetime) -> None:
    if not plan.claims:
        return
    rows = [(kind, key, article.id, plan.story_id, now) for kind, key in plan.claims]
    inserted = _insert_new(tx, "dedup_fingerprints (kind, fingerprint, article_id, story_id, created_at)",
                           "kind, fingerprint", rows)
    if inserted != len(rows):
        raise _LostRace


def _story(tx: Tx, plan: Plan, article: Article, now: datetime) -> StoryState:
    # A kill of the story (its own item, or a wire update of it) withdraws every version and copy; one
    # outlet withdrawing its copy withdraws that copy alone, or any outlet could kill anyone's story. A
    # kill from a feed not marked as the agency's is a source's takedown: the story's, even when another
    # outlet carries it too (over-cancelling is the lesser harm: it may be the agency's own kill, unmarked),
    # unless the agency's own marked wire carries it, whose kill alone ends the story then.
    canceled = article.pubstatus is PubStatus.CANCELED and plan.verdict is not Verdict.COPY
    takedown = canceled and not plan.agency_status
    if plan.verdict is Verdict.NEW:
        version = max(1, article.version)
        inserted = tx.execute(
            "INSERT INTO dedup_stories (story_id, first_article_id, latest_version, canceled, created_at, updated_at, "
            "latest_article_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (story_id) DO NOTHING",
            (plan.story_id, article.id, version, canceled, now, now, article.id)).rowcount
        if inserted:
            return StoryState(plan.story_id, article.id, version, canceled)
        # This transaction holds the item's claim, so no other replica is making this story: its row
        # outlived the claims, and the item came back edited after the window.
        return replace(_next_of(tx, plan.story_id, article, canceled, now, takedown=takedown), remembered=True)
    return _next_of(tx, plan.story_id, article, canceled, now, bump=plan.verdict is Verdict.NEW_VERSION,
                    unnumbered=_unnumbered_text(plan, article), takedown=takedown)


def _unnumbered_text(plan: Plan, article: Article) -> bool:
    """Its outlet's text of the story (an edit of its item, a near-duplicate from its feed), usable now,
    that nothing numbers: no prefix, no version of the format's. A wire that numbers its updates in the
    headline (Reuters' ``UPDATE 1-``) sends only the story's original so. A kill or a hold is not one:
    it must become the story's latest, or readers would not see it."""
    return (plan.reason in _EDITS and article.version == 1 and not is_wire_update(article)
            and release_status(article.pubstatus, article.embargoed_until) is None)


def _next_of(tx: Tx, story_id: str, article: Article, canceled: bool, now: datetime, *,
             bump: bool = True, unnumbered: bool = False, takedown: bool = False) -> StoryState:
    """The story's state for an article joining it; ``bump``: as its next version; ``unnumbered``: a text
    that is the story's original if its outlet numbered an update of it already; ``takedown``: a source's
    kill, which cancels the story unless its agency's own wire carries it."""
    # The row lock taken here (SQLite's transaction holds the write lock already) numbers concurrent
    # versions of one story one after the other, and puts a takedown after every article that joined the
    # story before it, so the agency's article it looks for next is there if it joined first.
    row = _touch(tx, story_id, canceled and not takedown, now)
    if takedown:
        if _carried_by_agency_wire(tx, story_id, article.feed_id):
            return StoryState(story_id, str(row[0]), int(row[1]), bool(row[2]), withdrawn=True)
        row = _touch(tx, story_id, True, now)
    latest = int(row[1])
    original = _original_version(tx, story_id, article.feed_id, latest) if bump and unnumbered else None
    if original is not None:
        return StoryState(story_id, str(row[0]), original, bool(row[2]), late_original=True)
    version = next_version(latest, article.version) if bump else latest
    if version < latest and _numbered(tx, story_id, version):
        version = latest + 1  # the wire's number is another version's already: counted on instead
    if version > latest:
        tx.execute("UPDATE dedup_stories SET latest_version = ?, latest_article_id = ? WHERE story_id = ?",
                   (version, article.id, story_id))
    return StoryState(story_id, str(row[0]), version, bool(row[2]))


def _touch(tx: Tx, story_id: str, cancel: bool, now: datetime) -> tuple[Any, ...]:
    """Lock the story's row (canceling it when ``cancel``): its first article, latest version, canceled."""
    row = tx.execute("UPDATE dedup_stories SET canceled = (canceled OR ?), updated_at = ? "
                     "WHERE story_id = ? RETURNING first_article_id, latest_version, canceled",
                     (cancel, now, story_id)).fetchone()
    if row is None:  # purged since the read
        raise _LostRace
    return tuple(row)


def _carried_by_agency_wire(tx: Tx, story_id: str, feed_id: str) -> bool:
    """Another feed, its agency's own marked wire, has an article in the story and has withdrawn none (a
    kill of another agency's story, or one sent before its mark): the agency still carries the story. Read
    under the story's row lock: on PostgreSQL each statement sees what was committed before it began."""
    return tx.execute(
        "SELECT 1 FROM dedup_articles a WHERE a.story_id = ? AND a.feed_id <> ? AND a.agency_wire = ? "
        "AND NOT EXISTS (SELECT 1 FROM dedup_articles w WHERE w.story_id = a.story_id AND w.feed_id = a.feed_id "
        "AND w.status = ?) LIMIT 1",
        (story_id, feed_id, True, release_status(PubStatus.CANCELED, None))).fetchone() is not None


def _original_version(tx: Tx, story_id: str, feed_id: str, latest: int) -> int | None:
    """The version an unnumbered text from ``feed_id`` takes when that feed numbered an update of the story
    in its headline already: it is the original, arrived late (Reuters' "Iraq ..." after its "UPDATE 1-Iraq
    ..."), or the original's corrected text. Version 1, the original's number, even when the original holds
    it already: every number above it up to the latest is one the wire's own late ``UPDATE n`` may claim
    (taken, it would be counted past the latest and an older text shown as the story's), and one above the
    latest would make this older text the latest (the sink keeps the highest version; an equal one never
    replaces it). None when the feed numbered no update."""
    if latest <= 1 or tx.execute(
            "SELECT 1 FROM dedup_articles WHERE story_id = ? AND feed_id = ? AND kind <> 'copy' "
            "AND headline_numbered = ?", (story_id, feed_id, True)).fetchone() is None:
        return None
    return 1


def _numbered(tx: Tx, story_id: str, version: int) -> bool:
    return tx.execute("SELECT 1 FROM dedup_articles WHERE story_id = ? AND version = ? AND kind <> 'copy'",
                      (story_id, version)).fetchone() is not None


def next_version(latest: int, wire_version: int) -> int:
    """The version a new version of a story at version ``latest`` takes: the next one, or the wire's own
    number when it counts further (v4 after v2). One the wire numbers below the latest arrived late (v3
    after v4): it keeps its number, and the story its latest, or readers would be shown the older text
    as the story's latest."""
    if 1 < wire_version < latest:
        return wire_version
    return max(latest + 1, wire_version)


def _version(plan: Plan, state: StoryState, article: Article) -> int:
    if plan.verdict is Verdict.COPY and plan.match is not None:
        return plan.match.version  # a copy of the version it matched
    return state.version


def _bands(tx: Tx, plan: Plan, article: Article, now: datetime) -> None:
    if not plan.bands:
        return
    rows = [(index, value, plan.story_id, article.id, now) for index, value in plan.bands]
    inserted = _insert_new(tx, "dedup_bands (band_index, band_hash, story_id, article_id, created_at)",
                           "band_index, band_hash", rows)
    # A new story finding its keys taken since the read may be racing a copy of itself: decide again.
    if plan.verdict is Verdict.NEW and inserted != len(rows):
        raise _LostRace
