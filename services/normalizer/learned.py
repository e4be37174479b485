"""The per-source boilerplate model, learned from the stream and kept in the dedup database.

The model lives in memory (bounded by its own LRU limits); the sources observed since the last save are
written back every so often, so a restarted or added replica starts from what the others learned.
Replicas share by last-writer-wins per source: each sees a share of every source's items, which is
enough to learn what a source repeats.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from schemas import Article
from services.core.db import Database
from services.normalizer.boilerplate import BoilerplateModel


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

    def observe(self, article: Article) -> None:
        """Learn from a published article's surviving paragraphs, counting each story once."""
        self.model.observe(article.feed_id, article.body_text.split("\n\n"), item_key=article.story_id)
        self._dirty.add(article.feed_id)

    def save(self, now: datetime) -> int:
        if not self._dirty:
            return 0
        sources = self.model.to_dict()["sources"]
        rows = [(feed, json.dumps(sources[feed]), now) for feed in sorted(self._dirty) if feed in sources]
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO boilerplate_sources (feed_id, counts, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (feed_id) DO UPDATE SET counts = excluded.counts, updated_at = excluded.updated_at",
                rows,
            )
        self._dirty.clear()
        return len(rows)
