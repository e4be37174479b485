"""The bytes of response bodies that polls in flight may hold together.

Each response is capped on its own (``max_decompressed_bytes``), but 64 fetches at that cap would hold
4 GiB, and parsing a body takes one to four times its size again. A poll's body bytes are taken from one
budget as they arrive and given back when the poll ends, since the body (and the items cut from it) lives
through parsing and publishing; so are the documents unpacked from a fetched archive, each read's bound
taken before it and what it did not use given back after. A spool feed's file (local, SFTP, FTP, IMAP)
takes its listed size before it is read (what it grew by since, once read), and gives back what it and
its documents held once its items are published, before the next file. A read that would go past the
budget fails at once rather than waiting (``services/core/budget.py``). The refused feed is tried again
at its next interval, not backed off (it is not failing); the reads that filled the budget end within
the fetch timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.core.budget import ByteBudget
from services.poller import metrics
from services.poller.fetch import FetchError

#: Under huge bodies the poller peaked at about four times this (``bench/bench_body_budget.py``: 954-991 MiB
#: at 256 MiB, 3.7-4.3 GiB without a budget); the Kubernetes config map sets 160 MiB for a 1 GiB limit.
DEFAULT_LIMIT_BYTES = 256 * 1024 * 1024


class BodyBudgetError(FetchError):
    """Polls in flight already hold the poller's body budget."""

    kind = "over_budget"


class BodyBudget:
    """Taken from by the fetches on the event loop and by archives unpacked on the parsing threads."""

    def __init__(self, limit_bytes: int) -> None:
        self._bytes = ByteBudget(limit_bytes, metrics.BODY_BYTES_IN_FLIGHT)

    @property
    def held_bytes(self) -> int:
        return self._bytes.held_bytes

    @contextmanager
    def share(self) -> Iterator[BodyShare]:
        """One poll's share, given back whole when the poll ends."""
        share = BodyShare(self)
        try:
            yield share
        finally:
            self.release(share.held_bytes)

    def reserve(self, size: int) -> None:
        if not self._bytes.take(size):
            raise BodyBudgetError(
                f"polls in flight hold {self._bytes.held_bytes} body bytes; {size} more would pass the poller's "
                f"budget of {self._bytes.limit_bytes} (WIREFEED_MAX_BODY_BYTES_IN_FLIGHT)")

    def release(self, size: int) -> None:
        self._bytes.release(size)


class BodyShare:
    """One poll's: used by one task or thread at a time, as the poll goes from fetching to parsing."""

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.held_bytes = 0

    def take(self, size: int) -> None:
        """Count ``size`` more bytes against the budget, or raise BodyBudgetError."""
        self._budget.reserve(size)
        self.held_bytes += size

    def give_back(self, size: int) -> None:
        """Return part of what was taken (the unused rest of a bound taken before reading)."""
        self.held_bytes -= size
        self._budget.release(size)

    def settle(self, taken: int, used: int) -> None:
        """A read ``taken`` was taken for used ``used``: give back the rest, or take what it used beyond."""
        if used > taken:
            self.take(used - taken)
        else:
            self.give_back(taken - used)
