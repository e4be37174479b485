"""``wirefeed purge``: the retention pass on demand, batch by batch, with a progress bar."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from rich.progress import Progress

from services.core.db import Database
from services.core.timestamps import utc_timestamp
from services.sink.store import SqlStore


def purge_with_progress(db: Database, older_than_days: float, batch: int) -> None:
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    store = SqlStore(db)
    store.migrate()
    due = int(db.query("SELECT COUNT(*) FROM articles WHERE stored_at < ?", (cutoff,))[0][0])
    deleted = 0
    with Progress(disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("purging articles", total=due)
        while True:
            removed = store.purge(cutoff, batch)  # one short transaction each: ingestion keeps going
            deleted += removed
            progress.update(task, completed=deleted)
            if removed < batch:
                break
    print(f"deleted {deleted} article(s) stored before {utc_timestamp(cutoff, 'seconds')}")
