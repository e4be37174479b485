"""Spool directories: wire copy an agency delivers as files, one document per story.

Newsrooms take much of their AP, AFP, Reuters or dpa copy this way rather than over HTTP: the agency
pushes each story (NITF, NewsML-G2, NewsML 1, ninjs, ...) by FTP or SFTP into a directory that the
ingester watches. A feed whose URL is ``file:///var/spool/wire/afp/`` reads that directory. Each poll
takes the files that have settled (unmodified for ``settle_seconds``, so an upload still being written
is not read half-way), oldest first. A file whose items were published moves to ``processed/``; one
that is not a document wirefeed reads moves to ``failed/``, with its reason in ``NAME.error`` beside it.
Nothing is deleted: clearing the two is the operator's call.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from services.poller.feeds import FeedConfig
    from services.poller.fetch import Fetcher
    from services.poller.state import PollerStore

PROCESSED, FAILED = "processed", "failed"
#: Files taken per poll; when more are waiting the feed is polled again at once.
MAX_FILES_PER_POLL = 1000
# Names FTP and SFTP servers and clients give files still being written, and editors' leftovers.
_IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp", ".error")


class SpoolError(Exception):
    """The spool directory cannot be listed, or a file in it cannot be moved on."""

    kind = "spool_error"


class UnusableFileError(Exception):
    """A spooled file that can be listed but not used as it is: it is set aside in ``failed/``."""


class FileTooLargeError(UnusableFileError):
    """A spooled file is larger than a fetched body may be."""


class NamedFile(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int:
        """As listed: the file may have grown since."""


File = TypeVar("File", bound=NamedFile)


@dataclass(frozen=True)
class Waiting(Generic[File]):
    files: list[File]
    more: bool  # settled files beyond MAX_FILES_PER_POLL wait for the next poll


class Spool(Protocol[File]):
    """Where a spool feed's files wait: a local directory here, or an SFTP server's (``sftp.py``)."""

    async def waiting(self) -> Waiting[File]:
        """The files to read now, oldest first; SpoolError (or a FetchError) when they cannot be listed."""

    async def read(self, file: File, max_bytes: int) -> bytes:
        """The file's bytes; FileNotFoundError when it went away since it was listed, UnusableFileError
        when it cannot be used as it is."""

    async def processed(self, file: File) -> None:
        """The file's items were published: it is not to be read again."""

    async def failed(self, file: File, reason: str) -> None:
        """The file is no document wirefeed reads: set aside, with the reason, and not read again."""


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    size: int

    @property
    def name(self) -> str:
        return self.path.name


OffLoop = Callable[..., Awaitable[Any]]


class DirectorySpool:
    """A local spool directory: a file handled moves to ``processed/`` or ``failed/``. The file system calls
    block, so they run through ``off_loop`` (the poller's threads)."""

    def __init__(self, directory: Path, settle_seconds: float, off_loop: OffLoop) -> None:
        self.directory = directory
        self.settle_seconds = settle_seconds
        self._off_loop = off_loop

    async def waiting(self) -> Waiting[SpooledFile]:
        waiting: Waiting[SpooledFile] = await self._off_loop(settled_files, self.directory, self.settle_seconds)
        return waiting

    async def read(self, file: SpooledFile, max_bytes: int) -> bytes:
        body: bytes = await self._off_loop(read_spooled, file, max_bytes)
        return body

    async def processed(self, file: SpooledFile) -> None:
        await self._off_loop(mark_processed, file)

    async def failed(self, file: SpooledFile, reason: str) -> None:
        await self._off_loop(mark_failed, file, reason)


@asynccontextmanager
async def open_spool(feed: FeedConfig, fetcher: Fetcher, store: PollerStore, *, settle_seconds: float,
                     off_loop: OffLoop, clock: Callable[[], datetime],
                     known_hosts: Path | None) -> AsyncIterator[Spool[Any]]:
    """A spool feed's spool: its local directory, or its server's directory or mailbox, signed in to (and
    the connection closed on leaving)."""
    if feed.directory is not None:
        yield DirectorySpool(feed.directory, settle_seconds, off_loop)
        return
    options: dict[str, Any] = {"settle_seconds": settle_seconds, "off_loop": off_loop, "clock": clock}
    # Each protocol's client is imported when a feed first needs it: asyncssh and cryptography alone
    # add 18 MiB to every poller, most of which read only HTTP.
    if feed.is_ftp:
        from services.poller.ftp import ftp_spool as server  # noqa: PLC0415
    elif feed.is_imap:
        from services.poller.imap import imap_spool as server  # type: ignore[assignment]  # noqa: PLC0415
    else:
        from services.poller.sftp import sftp_spool as server  # type: ignore[assignment]  # noqa: PLC0415
        options["known_hosts"] = known_hosts
    async with server(feed, fetcher, store, **options) as remote:
        yield remote


def settled_files(directory: Path, settle_seconds: float, *, limit: int = MAX_FILES_PER_POLL,
                  now: float | None = None) -> Waiting[SpooledFile]:
    """The regular files of the directory left alone for ``settle_seconds``, oldest first.

    Hidden files, in-progress names and symbolic links (which could point anywhere) are left out.
    """
    now = time.time() if now is None else now
    found: list[tuple[float, str, SpooledFile]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if _skipped(entry):
                    continue
                stat = entry.stat(follow_symlinks=False)
                if now - stat.st_mtime >= settle_seconds:
                    found.append((stat.st_mtime, entry.name, SpooledFile(Path(entry.path), stat.st_size)))
    except OSError as error:
        raise SpoolError(f"cannot list {directory}: {error.strerror or error}") from error
    found.sort(key=lambda entry: entry[:2])
    return Waiting([file for *_, file in found[:limit]], len(found) > limit)


def _skipped(entry: os.DirEntry[str]) -> bool:
    return skipped_name(entry.name) or not entry.is_file(follow_symlinks=False)


def skipped_name(name: str) -> bool:
    """Hidden files, editors' leftovers and names of uploads still in progress."""
    return name.startswith((".", "~")) or name.lower().endswith(_IN_PROGRESS_SUFFIXES)


def read_spooled(file: SpooledFile, max_bytes: int) -> bytes:
    """The file's bytes; FileNotFoundError when another process took it since it was listed.

    Whoever uploads may swap the listed file for a symbolic link or a FIFO before it is opened: the open
    follows no link and waits for no writer, and what it opened must be a regular file."""
    try:
        descriptor = os.open(file.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnusableFileError(f"cannot read {file.name}: {_not_followed(error)}") from error
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UnusableFileError(f"cannot read {file.name}: not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            body = handle.read(max_bytes + 1)
        except OSError as error:
            raise UnusableFileError(f"cannot read {file.name}: {error.strerror or error}") from error
    if len(body) > max_bytes:
        raise too_large(file.name, max_bytes)
    return body


def _not_followed(error: OSError) -> str:
    return "a symbolic link" if error.errno == errno.ELOOP else str(error.strerror or error)


def too_large(name: str, max_bytes: int) -> FileTooLargeError:
    return FileTooLargeError(f"{name} is larger than {max_bytes} bytes (WIREFEED_MAX_BODY_BYTES)")


def mark_processed(file: SpooledFile) -> Path:
    return _move(file, PROCESSED)


def mark_failed(file: SpooledFile, reason: str) -> Path:
    return _move(file, FAILED, reason)


def _move(file: SpooledFile, subdirectory: str, reason: str | None = None) -> Path:
    """Move the file into the spool directory's ``subdirectory``, with the reason in NAME.error beside it.

    Whoever uploads can also plant symbolic links in the spool directory: the subdirectory must be a real
    one, and every name is resolved in it by descriptor, so no link is followed and no file replaced."""
    folder = file.path.parent / subdirectory
    try:
        with (_closed_after(os.open(file.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)) as spool_fd,
              _closed_after(_open_subdirectory(spool_fd, subdirectory)) as folder_fd):
            name = _free_name(folder_fd, file.path, with_error=reason is not None)
            os.replace(file.name, name, src_dir_fd=spool_fd, dst_dir_fd=folder_fd)
            if reason is not None:
                _write_reason(folder_fd, name + ".error", reason)
    except OSError as error:
        raise SpoolError(f"cannot move {file.name} to {folder}: {error.strerror or error}") from error
    return folder / name


@contextlib.contextmanager
def _closed_after(directory_fd: int) -> Iterator[int]:
    """The open directory descriptor, closed when the block ends (whether or not it raised)."""
    try:
        yield directory_fd
    finally:
        os.close(directory_fd)


def _open_subdirectory(spool_fd: int, subdirectory: str) -> int:
    with contextlib.suppress(FileExistsError):
        os.mkdir(subdirectory, dir_fd=spool_fd)
    try:
        return os.open(subdirectory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=spool_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise SpoolError(f"{subdirectory}/ in the spool directory is not a directory but a symbolic link "
                             "or a file: remove it") from error
        raise


def _free_name(folder_fd: int, path: Path, *, with_error: bool) -> str:
    """The file's name, or one with a timestamp when the name (or its .error) is taken: an agency may send
    the same name again (a resend, a new day's file)."""
    name = path.name
    while _taken(folder_fd, name) or (with_error and _taken(folder_fd, name + ".error")):
        name = f"{path.stem}.{time.time_ns()}{path.suffix}"
    return name


def _taken(folder_fd: int, name: str) -> bool:
    try:
        os.lstat(name, dir_fd=folder_fd)
    except FileNotFoundError:
        return False
    return True


def _write_reason(folder_fd: int, name: str, reason: str) -> None:
    """A new file, never one that is there (a link planted since the name was chosen fails the call)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(name, flags, 0o666, dir_fd=folder_fd), "w", encoding="utf-8") as handle:
        handle.write(reason + "\n")
