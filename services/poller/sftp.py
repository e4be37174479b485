"""SFTP feeds: wire copy an agency keeps on its own SFTP server for its subscribers to collect.

Not every agency pushes files into the newsroom's spool directory: many leave each story as a file in a
directory of their SFTP server for a day or two, and each subscriber collects what is new. A feed whose
URL is ``sftp://user@sftp.example.com/outgoing/`` reads such a directory at its interval (``/~/outgoing/``:
relative to the account's home). The account is usually read-only and the files are the agency's to clear,
so nothing is moved or deleted there: wirefeed remembers each file it has read, by name, size and
modification time, among the feed's seen items, and reads a file again only when it changes. The
server's host key must already be in ``WIREFEED_SFTP_KNOWN_HOSTS``: an unknown or changed key refuses the
connection, as ssh would.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import asyncssh

from services.poller.feeds import BasicAuth, FeedConfig, SshKeyAuth
from services.poller.fetch import Fetcher
from services.poller.spool import MAX_FILES_PER_POLL, UnusableFileError, Waiting, skipped_name, too_large
from services.poller.state import PollerStore

# asyncssh reports every connection, channel and request at INFO: the poller logs what matters itself.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

#: Files read are remembered among the feed's seen items under this prefix (no feed's item ids carry it).
SEEN_PREFIX = "sftp-file:"
#: Directory entries a listing may hold: a server that lists more (hostile, or never cleared) is refused
#: rather than held in memory whole.
MAX_LISTED = 100_000


class SftpError(Exception):
    """The server refused the login or its host key, or the directory cannot be listed or read."""

    kind = "sftp_error"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    modified: int  # seconds since the epoch, by the server's clock

    @property
    def seen_id(self) -> str:
        return SEEN_PREFIX + self.name

    @property
    def version(self) -> str:
        return f"{self.size}:{self.modified}"


class SftpSpool:
    """An SFTP server's directory as a spool: files handled are remembered, not moved."""

    def __init__(self, client: asyncssh.SFTPClient, directory: str, feed_id: str, store: PollerStore, *,
                 settle_seconds: float, timeout: float, off_loop: Callable[..., Awaitable[Any]],
                 clock: Callable[[], datetime]) -> None:
        self.client = client
        self.directory = directory
        self.feed_id = feed_id
        self.store = store
        self.settle_seconds = settle_seconds
        self.timeout = timeout
        self._off_loop = off_loop
        self._clock = clock

    async def waiting(self) -> Waiting[RemoteFile]:
        """The settled files not read before in this version, oldest first."""
        listed = await self._listed()
        known: dict[str, str] = await self._off_loop(self.store.known_hashes, self.feed_id,
                                                     [file.seen_id for file in listed])
        # Files still listed are remembered for as long as the server keeps them (seen-items retention).
        await self._remember([], [file.seen_id for file in listed if file.seen_id in known])
        now = time.time()
        unread = sorted((file for file in listed
                         if known.get(file.seen_id) != file.version and now - file.modified >= self.settle_seconds),
                        key=lambda file: (file.modified, file.name))
        return Waiting(unread[:MAX_FILES_PER_POLL], len(unread) > MAX_FILES_PER_POLL)

    async def _listed(self) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        entries = 0
        with _sftp_errors(f"cannot list {self.directory or '~'}"):
            async with asyncio.timeout(self.timeout):
                # aclosing: a listing cut short closes its handle now, not at the loop's shutdown, when the
                # connection is gone and closing would wait for good.
                listing = cast("AsyncGenerator[asyncssh.SFTPName]", self.client.scandir(self.directory or "."))
                async with aclosing(listing) as names:  # typed as an iterator, written as a generator
                    async for name in names:
                        entries += 1
                        if entries > MAX_LISTED:
                            raise SftpError(f"{self.directory or '~'} lists more than {MAX_LISTED} entries")
                        if (file := _regular_file(name)) is not None:
                            files.append(file)
        return files

    async def read(self, file: RemoteFile, max_bytes: int) -> bytes:
        if file.size > max_bytes:  # the listing says so: nothing to download
            raise too_large(file.name, max_bytes)
        path = posixpath.join(self.directory, file.name)
        try:
            with _sftp_errors(f"cannot read {file.name}"):
                async with asyncio.timeout(self.timeout), self.client.open(path, "rb") as handle:
                    body: bytes = await handle.read(max_bytes + 1)
        except SftpError as error:
            if isinstance(error.__cause__, asyncssh.SFTPNoSuchFile):
                raise FileNotFoundError(path) from error
            if isinstance(error.__cause__, asyncssh.SFTPPermissionDenied):
                raise UnusableFileError(str(error)) from error
            raise
        if len(body) > max_bytes:
            raise too_large(file.name, max_bytes)
        return body

    async def processed(self, file: RemoteFile) -> None:
        await self._remember([file], [])

    async def failed(self, file: RemoteFile, reason: str) -> None:
        # The server's directory is not ours to write the reason into: the poller logs and counts it.
        await self._remember([file], [])

    async def _remember(self, read: list[RemoteFile], listed: list[str]) -> None:
        if read or listed:
            await self._off_loop(self.store.mark_published, self.feed_id,
                                 [(file.seen_id, file.version) for file in read], self._clock(), listed)


@asynccontextmanager
async def sftp_spool(feed: FeedConfig, fetcher: Fetcher, store: PollerStore, *, known_hosts: Path | None,
                     settle_seconds: float, off_loop: Callable[..., Awaitable[Any]],
                     clock: Callable[[], datetime]) -> AsyncIterator[SftpSpool]:
    """Signed in to the feed's server, its directory as a spool; the connection closes on leaving."""
    host, port = feed.url.host or "", feed.url.port or 22
    sock = await fetcher.connect_tcp(host, port)  # the address checks of every feed
    limits = fetcher.limits
    try:
        with _sftp_errors(f"cannot sign in to {host} port {port}"):
            connection = await asyncssh.connect(
                host, port, sock=sock, config=None, known_hosts=str(known_hosts) if known_hosts else (),
                login_timeout=limits.connect_timeout + limits.read_timeout, keepalive_interval=limits.read_timeout,
                agent_path=None, **_credentials(feed))
    except BaseException:
        sock.close()
        raise
    try:
        with _sftp_errors(f"{host} offers no SFTP"):
            client = await connection.start_sftp_client()
        yield SftpSpool(client, remote_directory(feed), feed.id, store, settle_seconds=settle_seconds,
                        timeout=limits.total_timeout, off_loop=off_loop, clock=clock)
    finally:
        connection.close()


def remote_directory(feed: FeedConfig) -> str:
    """The directory the URL names: absolute, or relative to the login's home after ``/~/``."""
    path = unquote(feed.url.path or "/")
    return path[3:] if path.startswith("/~/") else "" if path == "/~" else path


def _credentials(feed: FeedConfig) -> dict[str, Any]:
    auth = feed.auth
    if isinstance(auth, SshKeyAuth):
        with _sftp_errors("the feed's ssh_key cannot be read"):
            key = asyncssh.import_private_key(auth.private_key())
        return {"username": auth.username, "client_keys": [key], "password_auth": False, "kbdint_auth": False}
    assert isinstance(auth, BasicAuth)  # FeedConfig allows only these two on an sftp:// feed
    return {"username": auth.username, "password": auth.password(), "client_keys": None}


def _regular_file(name: asyncssh.SFTPName) -> RemoteFile | None:
    filename, attrs = str(name.filename), name.attrs
    # Folders, links (which could point anywhere) and uploads in progress are left alone.
    if attrs.type != asyncssh.FILEXFER_TYPE_REGULAR or skipped_name(filename):
        return None
    return RemoteFile(filename, attrs.size or 0, int(attrs.mtime or 0))


@contextmanager
def _sftp_errors(doing: str) -> Iterator[None]:
    """asyncssh's errors as SftpError, worded for the feed's status; timeouts and lost connections too."""
    try:
        yield
    except asyncssh.HostKeyNotVerifiable as error:
        raise SftpError(f"{doing}: host key not trusted (add it to WIREFEED_SFTP_KNOWN_HOSTS): {error}") from error
    except asyncssh.PermissionDenied as error:
        raise SftpError(f"{doing}: login refused") from error
    except asyncssh.Error as error:
        raise SftpError(f"{doing}: {error.reason}") from error
    except TimeoutError as error:
        raise SftpError(f"{doing}: no answer in time") from error
    except (OSError, asyncssh.KeyImportError) as error:  # the connection dropped; a key not in a known format
        raise SftpError(f"{doing}: {error}") from error
