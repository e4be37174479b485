"""The feeds file read again while the poller runs: when its bytes change, or at once on SIGHUP.

A valid file is applied by ``PollLoop.apply_feeds`` (new and changed feeds polled at once, removed ones
dropped). The token and password files it names count as part of it: one rotated (a Kubernetes Secret
updated, a file rewritten) is read again at the next check, and SIGHUP reads every credential. An
invalid file changes nothing: the poller keeps polling the feeds it had, logs why once per change
(``feeds_file_invalid``) and shows it in ``wirefeed_poller_feeds_file_last_reload_successful``. A feed
whose ``private_networks`` take in more than an intranet's (loopback, a cloud metadata address, more than
a /8) is polled, and warned of (``feed_private_networks_risky``) when loaded: at start, and when a reload
adds or changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from services.core.db import TRANSIENT_ERRORS
from services.poller import metrics
from services.poller.feeds import FeedConfig, FeedsFile, FeedsFileError, parse_feeds, read_feeds_file
from services.poller.service import FeedSetChange

log = structlog.get_logger(__name__)

Apply = Callable[[list[FeedConfig]], FeedSetChange]
# A file written this recently may still be being written (`cat > feeds.yaml`, an editor saving in place):
# it is read at the next check instead, so a half-written file is neither applied nor reported.
SETTLE_SECONDS = 1.0


class FeedsFileWatcher:
    def __init__(self, path: Path, *, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.path = path
        self.settle_seconds = settle_seconds
        self._digest: str | None = None  # of the content last read, valid or not: each change is read once
        self._secret_files: tuple[Path, ...] = ()  # named by the file last parsed

    def load(self) -> list[FeedConfig]:
        """The feeds at start-up; an error here stops the poller from starting (FeedsFileError)."""
        content = read_feeds_file(self.path)
        feeds = parse_feeds(content, self.path)
        self._digest = self._parsed(feeds, content)
        metrics.FEEDS_FILE_VALID.set(1)
        _warn_about_private_networks(feeds.feeds)
        return feeds.feeds

    def read_if_changed(self, *, force: bool = False) -> tuple[FeedsFile, str] | None:
        """The file's feeds and its digest, if it changed since last read (or ``force``), and is valid."""
        try:
            content = read_feeds_file(self.path)
        except FeedsFileError as error:
            # No content to compare: the error stands in for it, so a file that stays unreadable is
            # reported once, not at every check.
            self._invalid(error, _digest(str(error).encode()), force=force)
            return None
        digest = self._fingerprint(content)
        if not force and (digest == self._digest or self._settling()):
            return None
        try:
            feeds = parse_feeds(content, self.path)
        except FeedsFileError as error:
            self._invalid(error, digest, force=force)
            return None
        return feeds, self._parsed(feeds, content)

    def _parsed(self, feeds: FeedsFile, content: bytes) -> str:
        """The digest of a file just parsed, over the secret files it names (which may have changed)."""
        self._secret_files = tuple(sorted({file for feed in feeds.feeds if feed.auth is not None
                                           for file in feed.auth.secret_files}))
        return self._fingerprint(content)

    def _fingerprint(self, content: bytes) -> str:
        """The file's content and the identity of each secret file it names: a rotated one changes it."""
        digest = hashlib.sha256(content)
        for path in self._secret_files:
            digest.update(f"\0{path}\0{_file_identity(path)}".encode())
        return digest.hexdigest()

    def _settling(self) -> bool:
        return any(time.time() - mtime < self.settle_seconds
                   for mtime in map(_mtime, (self.path, *self._secret_files)) if mtime is not None)

    def _invalid(self, error: FeedsFileError, digest: str, *, force: bool) -> None:
        if force or digest != self._digest:
            log.error("feeds_file_invalid", error=str(error)[:1000], keeping="the feeds it had")
            metrics.FEEDS_FILE_RELOADS.labels("invalid").inc()
            metrics.FEEDS_FILE_VALID.set(0)
        self._digest = digest

    def check(self, apply: Apply, *, force: bool = False) -> FeedSetChange | None:
        """Read the file if it changed and apply it; what changed, or None when nothing was applied."""
        found = self.read_if_changed(force=force)
        return None if found is None else self.apply(apply, *found)

    def apply(self, apply: Apply, feeds: FeedsFile, digest: str) -> FeedSetChange | None:
        try:
            change = apply(feeds.feeds)
        except TRANSIENT_ERRORS as error:  # the state database: the file is read and applied again next time
            log.warning("feeds_file_reload_deferred", error=str(error)[:300])
            return None
        self._digest = digest
        metrics.FEEDS_FILE_RELOADS.labels("applied").inc()
        metrics.FEEDS_FILE_VALID.set(1)
        log.info("feeds_file_reloaded", feeds=len(feeds.feeds), added=_some(change.added),
                 removed=_some(change.removed), changed=_some(change.changed))
        new = set(change.added + change.changed)  # the others were warned about when they were loaded
        _warn_about_private_networks([feed for feed in feeds.feeds if feed.id in new])
        return change

    async def watch(self, apply: Apply, hangup: asyncio.Event, every: float) -> None:
        """Check every ``every`` seconds, and at once on ``hangup``; the file is read and parsed off the
        event loop (a file of 10,000 feeds takes a while), applied on it."""
        while True:
            with contextlib.suppress(TimeoutError):  # the periodic check
                await asyncio.wait_for(hangup.wait(), timeout=every)
            force = hangup.is_set()
            hangup.clear()
            try:
                found = await asyncio.to_thread(self.read_if_changed, force=force)
                if found is not None:
                    self.apply(apply, *found)
            except Exception:  # a bug must not end reloading for the life of the process unnoticed
                log.exception("feeds_file_reload_failed")
                metrics.FEEDS_FILE_VALID.set(0)


def _warn_about_private_networks(feeds: list[FeedConfig]) -> None:
    for feed in feeds:
        for warning in feed.private_network_warnings():
            log.warning("feed_private_networks_risky", feed=feed.id, warning=warning)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _file_identity(path: Path) -> str:
    # A Kubernetes Secret volume swaps a symbolic link to a new file: another inode, even at the same
    # size and time.
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    return f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None  # gone since it was read: what was read stands


def _some(feed_ids: list[str], shown: int = 20) -> list[str]:
    """Feed ids for a log line: a file of 10,000 new feeds must not make one of 10,000 ids."""
    return feed_ids if len(feed_ids) <= shown else [*feed_ids[:shown], f"... {len(feed_ids) - shown} more"]
