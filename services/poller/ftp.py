"""FTP feeds: wire copy an agency keeps on its FTP server for its subscribers to collect.

FTP is still how many agencies and syndicators hand out files (Superdesk reads AFP, ANSA and others
this way). ``ftps://host/path/`` signs in over explicit TLS (``AUTH TLS``, port 21, data connections
encrypted too), or implicit TLS (from the first byte) on port 990, which is implicit FTPS's as FileZilla
and WinSCP take it; ``ftp://`` sends the password in clear and is for servers that offer nothing else. The
directory is read like an SFTP server's (``remote.py``): nothing is moved there, each file read is
remembered. Listings use ``MLSD`` (RFC 3659), or on servers without it (vsftpd) ``NLST`` with ``SIZE`` and
``MDTM`` for each name; both are read with a bound, and file names are taken as data, never as commands.

ftplib blocks, so each step runs on the poller's threads; a step that outlives the total timeout has its
connection closed under it.
"""

from __future__ import annotations

import ftplib
import posixpath
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from services.core.numbers import whole_number
from services.poller import remote
from services.poller.feeds import BasicAuth, FeedConfig
from services.poller.fetch import Fetcher
from services.poller.remote import (
    ListingTooLongError,
    RemoteError,
    RemoteFile,
    RemoteSpool,
    listed_file,
    remote_directory,
    shut,
    within,
)
from services.poller.spool import UnusableFileError
from services.poller.state import PollerStore
from services.poller.tunnel import tunnel

T = TypeVar("T")
_MAX_LISTING_LINE = 8192  # as ftplib bounds a control line
#: Lines of one multi-line reply (ftplib reads them without a bound); a welcome banner is a few dozen.
MAX_REPLY_LINES = 1000
_CHUNK = 64 * 1024
# File names are bytes: one that is not UTF-8 (a Windows upload's Latin-1) is kept as Python keeps such
# names, so that it can be asked for again, not listed with U+FFFD and then not found.
NAME_BYTES = "surrogateescape"
#: Ports at which ``ftps://`` speaks TLS from the first byte (implicit FTPS) instead of asking for it.
IMPLICIT_TLS_PORTS = frozenset({990})


class FtpError(RemoteError):
    """The server refused the login or TLS, or the directory cannot be listed or read."""

    kind = "ftp_error"


class _Client(ftplib.FTP_TLS):
    """ftplib's client over a socket already connected to a checked address. Plain FTP never calls
    ``auth()``, so it stays plain; over TLS, data connections reuse the control connection's TLS session,
    as servers that guard against data-connection theft (vsftpd's default) require."""

    # Data connections go to the control connection's (checked) address, whatever PASV names: a server
    # could name a host inside the network. ftplib's default, kept here on purpose.
    trust_server_pasv_ipv4_address = False
    proxy: str | None = None  # data connections go through it too, as the control connection did

    def attach(self, sock: socket.socket, host: str, port: int, *, implicit_tls: bool) -> None:
        self.host, self.port = host, port  # the name, for TLS's certificate check
        # Wrapping takes over the socket: from here on only self.sock is open.
        self.sock = self.context.wrap_socket(sock, server_hostname=host) if implicit_tls else sock
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding, errors=NAME_BYTES)
        self.welcome = self.getresp()

    def putline(self, line: str) -> None:
        """ftplib's, sending the bytes of a name that is not UTF-8 back as the listing gave them."""
        if "\r" in line or "\n" in line:
            raise ValueError("an illegal newline character should not be contained")
        sys.audit("ftplib.sendcmd", self, line)
        assert self.sock is not None  # attached before any command
        self.sock.sendall(f"{line}\r\n".encode(self.encoding, NAME_BYTES))

    def getmultiline(self) -> str:
        """ftplib's, with a bound on the lines: a server (or someone in between) sending a reply that never
        ends would hold the poll until its timeout."""
        lines = [self.getline()]
        if lines[0][3:4] == "-":
            code = lines[0][:3]
            while not (lines[-1][:3] == code and lines[-1][3:4] != "-" and len(lines) > 1):
                if len(lines) >= MAX_REPLY_LINES:
                    raise ftplib.error_proto(f"a reply of more than {MAX_REPLY_LINES} lines")
                lines.append(self.getline())
        return "\n".join(lines)

    def ntransfercmd(self, cmd: str, rest: int | str | None = None) -> tuple[socket.socket, int | None]:
        conn, size = self._tunnelled_transfer(cmd, rest) if self.proxy else ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            session = self.sock.session if isinstance(self.sock, ssl.SSLSocket) else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


    def _tunnelled_transfer(self, cmd: str, rest: int | str | None) -> tuple[socket.socket, int | None]:
        """ftplib's passive transfer with its data connection tunnelled to the server's name, as the control
        connection is (ftplib connects to the peer's address: behind a proxy, the proxy's)."""
        assert self.proxy is not None
        _, port = self.makepasv()  # only the port: PASV's address is ignored as ever
        conn = tunnel(self.proxy, self.host, port, self.timeout or 60.0)  # ftp_spool always sets one
        try:
            if rest is not None:
                self.sendcmd(f"REST {rest}")
            answer = self.sendcmd(cmd)
            if answer[0] == "2":  # a server may answer 2xx before the 1xx, as ftplib allows
                answer = self.getresp()
            if answer[0] != "1":
                raise ftplib.error_reply(answer)
        except BaseException:
            conn.close()
            raise
        return conn, ftplib.parse150(answer) if answer[:3] == "150" else None


class FtpSpool(RemoteSpool):
    """An FTP server's directory as a spool."""

    def __init__(self, client: _Client, directory: str, feed_id: str, store: PollerStore, **options: Any) -> None:
        super().__init__(directory, feed_id, store, **options)
        self.client = client

    async def listed(self) -> list[RemoteFile]:
        return await self._step(f"cannot list {self.directory or '~'}", _listing, self.client, self.directory)

    async def _download(self, file: RemoteFile, max_bytes: int) -> bytes:
        path = posixpath.join(self.directory, file.name)
        try:
            return await self._step(f"cannot read {file.name}", _retrieve, self.client, path, max_bytes)
        except FtpError as error:
            # 550 says "gone since listed" and "not ours to read" alike: set aside, counted, and read again
            # if it comes back changed, rather than tried at every poll unseen.
            if isinstance(error.__cause__, ftplib.error_perm):
                raise UnusableFileError(str(error)) from error
            raise

    async def _step(self, doing: str, step: Callable[..., T], *args: Any) -> T:
        with _ftp_errors(doing):
            result: T = await within(self.timeout, self._off_loop(step, *args), lambda: self.client.sock)
            return result


@asynccontextmanager
async def ftp_spool(feed: FeedConfig, fetcher: Fetcher, store: PollerStore, *, settle_seconds: float,
                    off_loop: Callable[..., Awaitable[Any]], clock: Callable[[], datetime]) -> AsyncIterator[FtpSpool]:
    """Signed in to the feed's server, its directory as a spool; the connection closes on leaving."""
    host, port = feed.url.host or "", feed.url.port or 21
    sock = await fetcher.connect_tcp(host, port)  # the address checks of every feed
    limits = fetcher.limits
    sock.settimeout(limits.read_timeout)
    client = _Client(context=fetcher.tls_context, timeout=limits.read_timeout)
    client.proxy = fetcher.proxy
    spool = FtpSpool(client, remote_directory(unquote(feed.url.path or "/")), feed.id, store,
                     timeout=limits.connect_timeout + limits.read_timeout, settle_seconds=settle_seconds,
                     off_loop=off_loop, clock=clock)
    try:
        await spool._step(f"cannot sign in to {host} port {port}", _sign_in, client, sock, feed)
        spool.timeout = limits.total_timeout
        yield spool
    finally:
        shut(client.sock or sock)  # the TLS socket once there is one; no QUIT: a server could stall on it
        client.close()


def _sign_in(client: _Client, sock: socket.socket, feed: FeedConfig) -> None:
    port = feed.url.port or 21
    tls = feed.url.scheme == "ftps"
    implicit_tls = tls and port in IMPLICIT_TLS_PORTS
    client.attach(sock, feed.url.host or "", port, implicit_tls=implicit_tls)
    if tls and not implicit_tls:
        client.auth()
    if isinstance(feed.auth, BasicAuth):
        client.login(feed.auth.username, feed.auth.password(), secure=False)
    else:
        client.login(secure=False)  # anonymous
    if tls:
        client.prot_p()
    client.voidcmd("TYPE I")


def _listing(client: _Client, directory: str) -> list[RemoteFile]:
    try:
        lines = _transfer_lines(client, f"MLSD {directory}".rstrip())
    except ftplib.error_perm as error:
        if not str(error).startswith(("500", "502")):  # anything but "no such command"
            raise
        return _listing_without_mlsd(client, directory)
    return [file for line in lines if (file := _mlsd_file(line)) is not None]


def _mlsd_file(line: str) -> RemoteFile | None:
    facts_text, _, name = line.partition(" ")
    facts = dict(fact.partition("=")[::2] for fact in facts_text.lower().split(";") if fact)
    if facts.get("type") != "file" or not _plain_name(name):
        return None
    return listed_file(name, _int(facts.get("size")), _timestamp(facts.get("modify")))


def _listing_without_mlsd(client: _Client, directory: str) -> list[RemoteFile]:
    files = []
    for entry in _transfer_lines(client, f"NLST {directory}".rstrip()):
        name = posixpath.basename(entry.rstrip("/"))  # some servers answer with paths
        if not _plain_name(name):
            continue
        path = posixpath.join(directory, name)
        try:  # SIZE is refused for folders: they are left alone
            size = client.size(path)
            modified = client.voidcmd(f"MDTM {path}").split()[-1]
        except ftplib.error_perm:
            continue
        if (file := listed_file(name, size, _timestamp(modified))) is not None:
            files.append(file)
    return files


def _transfer_lines(client: _Client, command: str) -> list[str]:
    """A listing's lines, at most MAX_LISTED of them, each bounded as a control line is."""
    lines: list[str] = []
    with client.transfercmd(command) as conn, conn.makefile("r", encoding=client.encoding,
                                                             errors=NAME_BYTES) as text:
        while line := text.readline(_MAX_LISTING_LINE + 1):
            if len(lines) >= remote.MAX_LISTED:
                raise ListingTooLongError(command.partition(" ")[2] or "~")
            if len(line) > _MAX_LISTING_LINE:
                raise ftplib.Error(f"a line of the listing is longer than {_MAX_LISTING_LINE} characters")
            lines.append(line.rstrip("\r\n"))
        _end_tls(conn)
    client.voidresp()
    return lines


def _retrieve(client: _Client, path: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    with client.transfercmd(f"RETR {path}") as conn:
        while size <= max_bytes and (chunk := conn.recv(_CHUNK)):
            chunks.append(chunk)
            size += len(chunk)
        if size <= max_bytes:
            _end_tls(conn)
    try:
        client.voidresp()
    except ftplib.Error:  # 426 or the like: the transfer was cut short, by us when the file was too large
        if size <= max_bytes:
            raise
    return b"".join(chunks)


def _end_tls(conn: socket.socket) -> None:
    if isinstance(conn, ssl.SSLSocket):
        conn.unwrap()


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(char in name for char in "/\r\n\0")


def _int(value: str | None) -> int | None:
    return whole_number(value)


def _timestamp(value: str | None) -> float | None:
    """An RFC 3659 time (YYYYMMDDHHMMSS[.sss], UTC) as seconds since the epoch."""
    try:
        return datetime.strptime((value or "")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


@contextmanager
def _ftp_errors(doing: str) -> Iterator[None]:
    """ftplib's errors as FtpError, worded for the feed's status; timeouts and lost connections too."""
    try:
        yield
    except ftplib.error_perm as error:
        reason = "login refused" if str(error).startswith("530") else str(error)
        raise FtpError(f"{doing}: {reason}") from error
    except ssl.SSLError as error:
        raise FtpError(f"{doing}: TLS failed: {error.reason or error}") from error
    except TimeoutError as error:
        raise FtpError(f"{doing}: no answer in time") from error
    except (ftplib.Error, OSError, EOFError, ValueError) as error:  # ValueError: a reply not as RFC 959 has it
        raise FtpError(f"{doing}: {error or type(error).__name__}") from error
