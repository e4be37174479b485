"""Rows an older sink wrote during a rolling update, given the keys this version writes.

The first new replica migrates the schema while the older ones keep writing until they are replaced: a sink
from before migration 0006 leaves ``agency_key`` unset (marked '' by migration 0007) and one from before 0005
stores Norwegian as nb, so neither the agency nor the language filter finds those rows. The sink keys them
once migrated and then every few minutes from its consume loop, which costs two index lookups when there is
nothing to do (``SqlStore.key_stragglers``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

#: Older replicas live out a rolling update (minutes); their rows are found within this long after.
INTERVAL_SECONDS = 120.0


class Keyer(Protocol):
    def key_stragglers(self) -> int: ...


class Stragglers:
    def __init__(self, store: Keyer, *, interval: float = INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock
        self._due = clock()  # the first turn runs at once

    def maybe_run(self) -> None:
        """Key what older sinks wrote since the last run, when due; a failure is retried next time it is due
        (the consume loop logs it)."""
        if self.clock() < self._due:
            return
        self._due = self.clock() + self.interval
        keyed = self.store.key_stragglers()
        if keyed:
            log.info("older_sink_rows_keyed", rows=keyed)
