"""The per-source boilerplate model, learned from the stream and kept in the dedup database.

The model lives in memory (bounded by its own LRU limits); the sources observed since the last save are
written back every so often, so a restarted or added replica starts from what the others learned.
Replicas share by last-writer-wins per source: each sees a share of every source's items, which is
enough to learn what a source repeats.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import structlog

from schemas import Article, RawItem
from services.core.db import Database
from services.normalizer.boilerplate import BoilerplateModel
from services.normalizer.clean import html_to_text, parse_body
from services.normalizer.minhash import casefold_words
from services.normalizer.wire import strip_prefixes

log = structlog.get_logger(__name__)

# A source that has sent fewer items than this is new: its paragraphs are also counted within the batch
# at hand, so that the first page of a new feed loses what the source repeats, not only the items after
# it. Later batches rely on the learned model alone (counting costs a second parse of each body).
NEW_SOURCE_ITEMS = 100


class LearnedBoilerplate:
    def __init__(self, db: Database, model: BoilerplateModel | None = None) -> None:
        self.db = db
        self.model = model or BoilerplateModel()
        self._dirty: set[str] = set()

    def load(self) -> LearnedBoilerplate:
        state: dict[str, Any] = self.model.to_dict()
        rows = self.db.query("SELECT feed_id, counts FROM boilerplate_sources ORDER BY updated_at")
        state["sources"] = {str(feed_id): json.loads(str(counts)) for feed_id, counts in rows}
        self.model = BoilerplateModel.from_dict(state)
        return self

    def learn_batch(self, raws: list[RawItem]) -> None:
        """Before a batch is cleaned: for a new source with at least ``min_items`` items in it, learn what
        those items repeat among themselves, as if they had been published one by one before it."""
        per_feed = Counter(raw.feed_id for raw in raws)
        new = {feed for feed, n in per_feed.items()
               if n >= self.model.min_items and self.model.items_seen(feed) < NEW_SOURCE_ITEMS}
        if not new:
            return
        batch = BoilerplateModel(min_items=self.model.min_items, max_chars=self.model.max_chars)
        for raw in raws:
            if raw.feed_id not in new:
                continue
            try:
                paragraphs = parse_body(raw.content_html or raw.summary_html or "").paragraphs
                batch.observe(raw.feed_id, paragraphs, item_key=_story_key(raw))
            except Exception:  # an item normalize() will dead-letter: it just does not count here
                log.debug("batch_boilerplate_skipped", item=raw.item_id)
        for feed in new:
            self.model.learn_from(batch, feed)
            self._dirty.add(feed)

    def observe(self, article: Article) -> None:
        """Learn from a published article's surviving paragraphs, counting each story once."""
        self.model.observe(article.feed_id, article.body_text.split("\n\n"), item_key=article.story_id)
        self._dirty.add(article.feed_id)

    def save(self, now: datetime) -> int:
        if not self._dirty:
            return 0
        # Only the sources seen since the last save: the whole model may be a hundred megabytes of counts.
        states = ((feed, self.model.source_state(feed)) for feed in sorted(self._dirty))
        rows = [(feed, json.dumps(state), now) for feed, state in states if state is not None]
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO boilerplate_sources (feed_id, counts, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (feed_id) DO UPDATE SET counts = excluded.counts, updated_at = excluded.updated_at",
                rows,
            )
        self._dirty.clear()
        return len(rows)


def _story_key(raw: RawItem) -> str:
    """Versions of one story in one batch count once, as the learned model counts a story once: before
    dedup their headline without its wire slug ("UPDATE 2-") is what tells them apart from other items."""
    title, _, _ = strip_prefixes(html_to_text(raw.title or ""))
    return " ".join(casefold_words(title)) or raw.item_id
