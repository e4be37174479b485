"""A directory on a server the agency runs (SFTP in ``sftp.py``, FTP in ``ftp.py``), or a mailbox
(``imap.py``), read as a spool.

The account is usually read-only and the files are the agency's to clear, so nothing is moved or
deleted there: each file read is remembered among the feed's seen items, by name, size and modification
time, and read again only when it changes. Restarts and other pollers share that memory; the seen-items
retention forgets a file once the server has stopped listing it for that long.
"""

from __future__ import annotations

import asyncio
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from services.core.text import storable
from services.poller.spool import MAX_FILES_PER_POLL, SpoolError, Waiting, skipped_name, too_large
from services.poller.state import PollerStore

T = TypeVar("T")
#: Files read are remembered among the feed's seen items under this prefix (no feed's item ids carry it).
SEEN_PREFIX = "remote-file:"
#: Directory entries a listing may hold: a server that lists more (hostile, or never cleared) is refused
#: rather than held in memory whole.
MAX_LISTED = 100_000


class RemoteError(Exception):
    """The server refused the login, its key or certificate, or the directory cannot be listed or read."""

    kind = "remote_error"  # each protocol names its own


class ListingTooLongError(SpoolError):
    def __init__(self, directory: str) -> None:
        super().__init__(f"{directory} lists more than {MAX_LISTED} entries")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    modified: int  # seconds since the epoch, by the server's clock

    @property
    def seen_id(self) -> str:
        return SEEN_PREFIX + storable(self.name)

    @property
    def version(self) -> str:
        return f"{self.size}:{self.modified}"


def listed_file(name: str, size: int | None, modified: float | None) -> RemoteFile | None:
    """A regular file's entry as a RemoteFile; None for names left alone (uploads in progress, hidden)."""
    return None if skipped_name(name) else RemoteFile(name, size or 0, int(modified or 0))


class RemoteSpool(ABC):
    """A server's directory as a spool (``spool.Spool``): files handled are remembered, not moved."""

    def __init__(self, directory: str, feed_id: str, store: PollerStore, *, timeout: float, settle_seconds: float,
                 off_loop: Callable[..., Awaitable[Any]], clock: Callable[[], datetime]) -> None:
        self.directory = directory
        self.feed_id = feed_id
        self.store = store
        self.timeout = timeout  # for each step on the server: a listing, a download
        self.settle_seconds = settle_seconds
        self._off_loop = off_loop
        self._clock = clock

    @abstractmethod
    async def listed(self) -> list[RemoteFile]:
        """The directory's regular files; at most MAX_LISTED entries are read (ListingTooLongError)."""

    @abstractmethod
    async def _download(self, file: RemoteFile, max_bytes: int) -> bytes:
        """The file's bytes, or more than ``max_bytes`` of them (not all) when it is larger; FileNotFoundError
        when it went away since it was listed."""

    async def read(self, file: RemoteFile, max_bytes: int) -> bytes:
        """As ``Spool.read``; a file the listing says is too large is not downloaded at all."""
        if file.size > max_bytes:
            raise too_large(file.name, max_bytes)
        body = await self._download(file, max_bytes)
        if len(body) > max_bytes:  # larger than listed
            raise too_large(file.name, max_bytes)
        return body

    async def waiting(self) -> Waiting[RemoteFile]:
        """The settled files not read before in this version, oldest first."""
        listed = await self.listed()
        known: dict[str, str] = await self._off_loop(self.store.known_hashes, self.feed_id,
                                                     [file.seen_id for file in listed])
        # Files still listed are remembered for as long as the server keeps them (seen-items retention).
        await self._remember([], [file.seen_id for file in listed if file.seen_id in known])
        now = time.time()
        unread = sorted((file for file in listed
                         if known.get(file.seen_id) != file.version and now - file.modified >= self.settle_seconds),
                        key=lambda file: (file.modified, file.name))
        return Waiting(unread[:MAX_FILES_PER_POLL], len(unread) > MAX_FILES_PER_POLL)

    async def processed(self, file: RemoteFile) -> None:
        await self._remember([file], [])

    async def failed(self, file: RemoteFile, reason: str) -> None:
        # The server's directory is not ours to write the reason into: the poller logs and counts it.
        await self._remember([file], [])

    async def _remember(self, read: list[RemoteFile], listed: list[str]) -> None:
        if read or listed:
            await self._off_loop(self.store.mark_published, self.feed_id,
                                 [(file.seen_id, file.version) for file in read], self._clock(), listed)


async def within(timeout: float, step: Awaitable[T], connection: Callable[[], socket.socket | None]) -> T:
    """A blocking client's step (run on a thread) given ``timeout`` seconds; past them the connection is
    shut under the thread, whose read then fails at once instead of at the server's leisure."""
    try:
        async with asyncio.timeout(timeout):
            return await step
    except TimeoutError:
        shut(connection())
        raise


def shut(sock: socket.socket | None) -> None:
    """Close a connection, waking a thread blocked reading it (close() alone does not)."""
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def remote_directory(path: str) -> str:
    """The directory a URL's (decoded) path names: absolute, or relative to the login's home after ``/~/``."""
    return path[3:] if path.startswith("/~/") else "" if path == "/~" else path
