"""Per-source boilerplate learned from the stream survives a restart (both database families)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.core.db import Database
from services.normalizer.dedup import DedupStore
from services.normalizer.learned import LearnedBoilerplate
from services.normalizer.normalize import normalize
from tests.factories import raw_item

# A line only this source prints, which no rule knows: the model must learn it.
REPEATED_LINE = "The Harbor Times has served the bay and its islands since 1887, independent and locally owned."


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    DedupStore(db).migrate()
    yield db
    db.close()


def story(n: int) -> str:
    return (f"<p>Council votes on budget item {n} after a long debate about roads, schools and parks.</p>"
            f"<p>The measure number {n} passed with a narrow majority late on Tuesday evening.</p>"
            f"<p>{REPEATED_LINE}</p>")


def test_a_paragraph_a_source_repeats_is_learned_saved_and_removed_after_a_restart(db: Database) -> None:
    now = datetime.now(UTC)
    learned = LearnedBoilerplate(db)
    for n in range(6):
        learned.observe(normalize(raw_item(n, feed_id="harbor", body=story(n)), now))
    assert learned.save(now) == 1

    restarted = LearnedBoilerplate(db).load()
    article = normalize(raw_item(99, feed_id="harbor", body=story(99)), now, boilerplate=restarted.model)
    assert REPEATED_LINE not in article.body_text and "measure number 99" in article.body_text
    other_source = normalize(raw_item(99, feed_id="elsewhere", body=story(99)), now, boilerplate=restarted.model)
    assert REPEATED_LINE in other_source.body_text  # learned per source, not globally
