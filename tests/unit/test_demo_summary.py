"""The demo's summary of the seed story reads the same whichever outlet's copy arrived first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.core.db import Database
from services.demo import SEED_HEADLINE, _show_seed_story
from services.sink.store import SqlStore
from tests.factories import article

RETITLED = "Iraq and US to start talks on ending coalition mission"


@pytest.mark.parametrize("first_title", [SEED_HEADLINE, RETITLED])
def test_the_seed_story_is_shown_by_its_own_headline(first_title: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    second_title = RETITLED if first_title == SEED_HEADLINE else SEED_HEADLINE
    first = article(1, story="s", feed_id="harbor-times").model_copy(update={"title": first_title})
    copy = article(2, story="s", feed_id="coastal-courier").model_copy(
        update={"title": second_title, "duplicate_of": first.id, "similarity": 0.8})
    store = SqlStore(Database(f"sqlite:///{tmp_path / 'demo.db'}"))
    store.migrate()
    store.write([first, copy], {("demo.articles.v1", 0): 2}, datetime.now(UTC))
    store.close()
    capsys.readouterr()  # the migration's log line
    _show_seed_story(tmp_path / "demo.db")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f'  the seed story          "{SEED_HEADLINE}"'
    assert "carried by 2 outlets as 1 story" in out
