"""Retention: delete articles the sink stored more than ``retention_days`` ago, in small batches.

Age is measured by ``stored_at`` (when the sink committed the row), not ``published_at``: feeds' dates
can be missing (estimated), wrong or in the future, and an archive feed's old items would otherwise be
deleted the moment they arrive. ``stored_at`` only moves forward, so the oldest rows go first through
an index.

The work runs in its own thread with its own short transactions (``SqlStore.purge``), so ingestion is
never blocked for longer than one batch: SQLite has a single writer, so its batches are smaller and
the thread pauses between them to let the consume loop's transaction in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from services.sink import metrics

log = structlog.get_logger(__name__)

BATCH_ROWS = {"postgresql": 1000, "sqlite": 200}
PAUSE_SECONDS = {"postgresql": 0.01, "sqlite": 0.05}


class Purger(Protocol):
    def purge(self, cutoff: datetime, limit: int) -> int: ...


class Stop(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float) -> bool: ...


class Retention:
    def __init__(self, store: Purger, days: int, stop: Stop, *, batch_rows: int, pause: float,
                 interval: float = 300.0, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.age = timedelta(days=days)
        self.stop = stop
        self.batch_rows = batch_rows
        self.pause = pause
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Delete everything older than the retention age, batch by batch; returns rows deleted."""
        cutoff = self.clock() - self.age
        total = 0
        while not self.stop.is_set():
            deleted = self.store.purge(cutoff, self.batch_rows)
            metrics.RETENTION_DELETED.inc(deleted)
            total += deleted
            if deleted < self.batch_rows:
                break
            self.stop.wait(self.pause)  # let ingestion take the write lock between batches
        if total:
            log.info("retention_deleted", rows=total, cutoff=cutoff.isoformat())
        return total

    def start(self) -> Retention:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.run_once()
            except Exception as error:  # the database may be down: try again next round, never die
                metrics.DB_ERRORS.labels(type(error).__name__).inc()
                log.warning("retention_failed", error=str(error)[:300])
            self.stop.wait(self.interval)
