"""``wirefeed purge`` on both engines: old articles go, recent ones stay, batch by batch."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from services.core.db import Database
from services.sink.store import SqlStore
from tests.factories import article

TOPIC = "p.articles.v1"


def test_purge_deletes_only_articles_stored_before_the_age(database_url: str) -> None:
    store = SqlStore(Database(database_url))
    store.migrate()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    store.write([article(n) for n in range(7)], {(TOPIC, 0): 7}, long_ago)
    store.write([article(n) for n in range(7, 10)], {(TOPIC, 0): 10}, datetime.now(UTC))
    result = subprocess.run([sys.executable, "-m", "services.cli", "purge", "--older-than-days", "30",
                             "--batch", "3"], env={**os.environ, "WIREFEED_DATABASE_URL": database_url},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "deleted 7 article(s)" in result.stdout
    assert sorted(a.id for a in store.export()) == [f"article-{n:06d}" for n in range(7, 10)]
    store.close()
