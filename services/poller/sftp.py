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
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import asyncssh

from services.poller import remote
from services.poller.feeds import BasicAuth, FeedConfig, SshKeyAuth
from services.poller.fetch import Fetcher
from services.poller.remote import (
    ListingTooLongError,
    RemoteError,
    RemoteFile,
    RemoteSpool,
    listed_file,
    remote_directory,
)
from services.poller.spool import UnusableFileError
from services.poller.state import PollerStore

# asyncssh reports every connection, channel and request at INFO: the poller logs what matters itself.
logging.getLogger("asyncssh").setLevel(logging.WARNING)


class SftpError(RemoteError):
    """The server refused the login or its host key, or the directory cannot be listed or read."""

    kind = "sftp_error"


class SftpSpool(RemoteSpool):
    """An SFTP server's directory as a spool."""

    def __init__(self, client: asyncssh.SFTPClient, directory: str, feed_id: str, store: PollerStore,
                 **options: Any) -> None:
        super().__init__(directory, feed_id, store, **options)
        self.client = client

    async def listed(self) -> list[RemoteFile]:
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
                        if entries > remote.MAX_LISTED:
                            raise ListingTooLongError(self.directory or "~")
                        if (file := _regular_file(name)) is not None:
                            files.append(file)
        return files

    async def _download(self, file: RemoteFile, max_bytes: int) -> bytes:
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
        return body


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
            # Names are bytes on the server: one that is not UTF-8 (a Windows upload's Latin-1) would fail
            # every listing; kept as Python keeps such file names, it is read and remembered like the rest.
            client = await connection.start_sftp_client(path_errors="surrogateescape")
        yield SftpSpool(client, remote_directory(unquote(feed.url.path or "/")), feed.id, store,
                        timeout=limits.total_timeout, settle_seconds=settle_seconds, off_loop=off_loop, clock=clock)
    finally:
        connection.close()


def missing_host_keys(feeds: list[FeedConfig], known_hosts: Path) -> list[str]:
    """What keeps these SFTP feeds' servers from being trusted (``feeds check`` says so before a poll fails)."""
    try:
        trusted = asyncssh.read_known_hosts(str(known_hosts))
    except (OSError, ValueError) as error:
        return [f"SFTP feeds check their servers' host keys against {known_hosts}, which cannot be read "
                f"(WIREFEED_SFTP_KNOWN_HOSTS): {getattr(error, 'strerror', None) or error}"]
    notes = []
    for feed in feeds:
        host, port = feed.url.host or "", feed.url.port or 22
        if not trusted.match(host, "", port)[0]:  # by name only: the address is the poll's to resolve
            notes.append(f"{feed.id}: no host key for {host} port {port} in {known_hosts} "
                         f"(ssh-keyscan -p {port} {host} prints it, to check and add)")
    return notes


def _credentials(feed: FeedConfig) -> dict[str, Any]:
    auth = feed.auth
    if isinstance(auth, SshKeyAuth):
        with _sftp_errors("the feed's ssh_key cannot be read"):
            key = asyncssh.import_private_key(auth.private_key(), auth.passphrase())
        return {"username": auth.username, "client_keys": [key], "password_auth": False, "kbdint_auth": False}
    assert isinstance(auth, BasicAuth)  # FeedConfig allows only these two on an sftp:// feed
    return {"username": auth.username, "password": auth.password(), "client_keys": None}


def _regular_file(name: asyncssh.SFTPName) -> RemoteFile | None:
    # Folders and links (which could point anywhere) are left alone.
    if name.attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
        return None
    return listed_file(str(name.filename), name.attrs.size, name.attrs.mtime)


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
    # The connection dropped; a key not in a known format, or its passphrase wrong (the message names none).
    except (OSError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as error:
        raise SftpError(f"{doing}: {error}") from error
