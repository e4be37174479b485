"""Bytes that threads and tasks may hold together, bounded. A take past the bound is refused at once, not
waited for: holders waiting on each other's bytes could wait for good, and the refused work is retried by
whoever asked for it (a feed at its next interval, a read API client after a 503)."""

from __future__ import annotations

import threading

from prometheus_client import Gauge


class ByteBudget:
    def __init__(self, limit_bytes: int, gauge: Gauge | None = None) -> None:
        self.limit_bytes = limit_bytes
        self.held_bytes = 0
        self._gauge = gauge
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Hold ``size`` more bytes, or refuse (False) when that would pass the bound."""
        with self._lock:
            if self.held_bytes + size > self.limit_bytes:
                return False
            self._add(size)
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self._add(-size)

    def _add(self, size: int) -> None:
        self.held_bytes += size
        if self._gauge is not None:
            self._gauge.set(self.held_bytes)
