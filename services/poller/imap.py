"""IMAP feeds: press releases, agencies' alert services and correspondents' copy read from a mailbox.

Much of what reaches a desk comes by e-mail, and a mail server is where it waits. A feed whose URL is
``imaps://user@host/INBOX`` (TLS from the first byte, port 993; ``imap://``, port 143, upgraded with
STARTTLS before the login, which is never sent in clear) reads that mailbox at its interval, each message
an e-mail document (``formats/rfc822.py``). The login is a password, or an OAuth 2.0 access token (SASL
XOAUTH2, ``oauth.py``), as Gmail and Microsoft 365 require. The mailbox is opened read-only (``EXAMINE``):
no flag changes, nothing moved or deleted, so a person can read the same mailbox. Each message read is
remembered like a file on an agency's server (``remote.py``), by the mailbox's UIDVALIDITY and its UID.

imaplib blocks, so each step runs on the poller's threads within the timeouts; literals (message bodies)
are read only up to the size limit, whatever size the server announces.
"""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from services.core.numbers import whole_number
from services.poller import remote
from services.poller.feeds import BasicAuth, FeedConfig, OAuth2Auth
from services.poller.fetch import Fetcher
from services.poller.oauth import bearer_token
from services.poller.remote import ListingTooLongError, RemoteError, RemoteFile, RemoteSpool, listed_file, shut, within
from services.poller.spool import too_large
from services.poller.state import PollerStore

T = TypeVar("T")
_FETCHED = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)")
_SHIFTED = re.compile(r"[^\x20-\x25\x27-\x7e]+|&")  # what modified UTF-7 writes in base64, and "&"
_LISTING_SLACK = 64 * 1024  # beyond the body limit, for a listing's own literals (none are expected)
_UNTAGGED_SLACK = 100  # beyond a listing's FETCH lines, for the few a server adds to any command


class ImapError(RemoteError):
    """The server refused the login or TLS, or the mailbox cannot be opened or read."""

    kind = "imap_error"


class LoginRefusedError(ImapError):
    def __init__(self) -> None:
        super().__init__("login refused")


class _Client(imaplib.IMAP4):
    """imaplib's client over a socket already connected to a checked address (wrapped in TLS for imaps)."""

    def __init__(self, sock: socket.socket, host: str, port: int, *, tls: ssl.SSLContext | None,
                 max_literal: int) -> None:
        self._connected, self._tls, self.max_literal = sock, tls, max_literal
        self._untagged = 0  # responses to the command in progress
        self.literal_refused = False  # a literal was left unread: the session cannot go on
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        if self._tls is None:
            return self._connected
        return self._tls.wrap_socket(self._connected, server_hostname=self.host)

    def _command(self, name: str, *args: Any) -> Any:
        self._untagged = 0
        return super()._command(name, *args)  # type: ignore[misc]

    def _append_untagged(self, typ: str, dat: Any) -> None:
        # imaplib keeps every untagged response until the command ends: a server sending them without end
        # (a mailbox larger than it declared, or malice) would fill memory until the timeout.
        self._untagged += 1
        if self._untagged > remote.MAX_LISTED + _UNTAGGED_SLACK:
            raise self.error(f"the server sends more than {remote.MAX_LISTED + _UNTAGGED_SLACK} responses "
                             "to one command")
        super()._append_untagged(typ, dat)  # type: ignore[misc]

    def read(self, size: int) -> bytes:
        # imaplib reads a literal whole, at the size the server announces: a bound before it does (bodies
        # are fetched partially, so only a server that ignores the request sends more).
        if size > self.max_literal:
            self.literal_refused = True  # imaplib rewraps the error: the flag tells the spool what happened
            raise self.error(f"the server sends {size} bytes where at most {self.max_literal} were asked for")
        return super().read(size)


@dataclass(frozen=True)
class Mailbox:
    name: str
    uidvalidity: str  # UIDs name the same messages for as long as this stays
    messages: int


class ImapSpool(RemoteSpool):
    """A mailbox as a spool: its messages are the files, named UIDVALIDITY.UID."""

    def __init__(self, client: _Client, mailbox: Mailbox, feed_id: str, store: PollerStore, **options: Any) -> None:
        super().__init__(mailbox.name, feed_id, store, **options)
        self.client, self.mailbox = client, mailbox

    async def listed(self) -> list[RemoteFile]:
        if self.mailbox.messages > remote.MAX_LISTED:
            raise ListingTooLongError(self.directory)
        if not self.mailbox.messages:
            return []
        return await self._step(f"cannot list {self.directory}", _listing, self.client, self.mailbox.uidvalidity)

    async def _download(self, file: RemoteFile, max_bytes: int) -> bytes:
        self.client.max_literal = max_bytes + 1
        try:
            message = await self._step(f"cannot read message {file.name}", _message, self.client,
                                       file.name.rpartition(".")[2], max_bytes + 1)
        except ImapError as error:
            if not self.client.literal_refused:
                raise
            # Set aside like any file too large, so the next poll goes on past it; the body was left unread,
            # so this session cannot go on: what else waits is read at the next poll, on a new one.
            shut(self.client.sock)
            raise too_large(file.name, max_bytes) from error
        if message is None:
            raise FileNotFoundError(file.name)  # expunged since it was listed
        return message

    async def _step(self, doing: str, step: Callable[..., T], *args: Any) -> T:
        with _imap_errors(doing):
            result: T = await within(self.timeout, self._off_loop(step, *args), lambda: self.client.sock)
            return result


@asynccontextmanager
async def imap_spool(feed: FeedConfig, fetcher: Fetcher, store: PollerStore, *, settle_seconds: float,
                     off_loop: Callable[..., Awaitable[Any]],
                     clock: Callable[[], datetime]) -> AsyncIterator[ImapSpool]:
    """Signed in to the feed's server with its mailbox open read-only; the connection closes on leaving."""
    implicit_tls = feed.url.scheme == "imaps"
    host, port = feed.url.host or "", feed.url.port or (993 if implicit_tls else 143)
    token = await bearer_token(feed.auth, fetcher)  # before connecting: the server would wait on the token endpoint
    sock = await fetcher.connect_tcp(host, port)  # the address checks of every feed
    limits = fetcher.limits
    sock.settimeout(limits.read_timeout)  # TLS takes it over, and the handshake is bounded by it too
    client: _Client | None = None
    try:
        with _imap_errors(f"cannot sign in to {host} port {port}"):
            client, mailbox = await within(limits.connect_timeout + limits.read_timeout,
                                           off_loop(_sign_in, sock, feed, fetcher.tls_context, implicit_tls, token),
                                           lambda: sock)
        yield ImapSpool(client, mailbox, feed.id, store, timeout=limits.total_timeout,
                        settle_seconds=settle_seconds, off_loop=off_loop, clock=clock)
    except LoginRefusedError:
        if isinstance(feed.auth, OAuth2Auth):
            feed.auth.drop_token()  # revoked, or expired early: the next poll asks for a new one
        raise
    finally:
        shut(client.sock if client else sock)  # the TLS socket once there is one; no LOGOUT: it could stall


def mailbox_name(feed: FeedConfig) -> str:
    return unquote(feed.url.path or "/").strip("/") or "INBOX"


def _sign_in(sock: socket.socket, feed: FeedConfig, tls: ssl.SSLContext, implicit_tls: bool,
             token: str | None) -> tuple[_Client, Mailbox]:
    client = _Client(sock, feed.url.host or "", feed.url.port or 0, tls=tls if implicit_tls else None,
                     max_literal=_LISTING_SLACK)
    if not implicit_tls:
        _start_tls(client, tls)
    _log_in(client, feed, token)
    name = mailbox_name(feed)
    status, data = client.select(_quoted(modified_utf7(name)), readonly=True)
    if status != "OK":
        raise ImapError(f"cannot open {name}: {_text(data)}")
    [uidvalidity] = client.response("UIDVALIDITY")[1] or [b"0"]
    if (messages := whole_number(_text(data))) is None:
        raise ImapError(f"cannot open {name}: no message count in the server's answer {_text(data)[:100]!r}")
    return client, Mailbox(name, _text([uidvalidity]), messages)


def _log_in(client: _Client, feed: FeedConfig, token: str | None) -> None:
    if token is not None and "AUTH=XOAUTH2" not in client.capabilities:
        raise ImapError("the server takes no OAuth 2.0 login (AUTH=XOAUTH2)")
    try:
        if token is not None:
            client.authenticate("XOAUTH2", _xoauth2(feed.login or "", token))
        else:
            assert isinstance(feed.auth, BasicAuth)  # FeedConfig allows no other login on an IMAP feed
            _log_in_with_password(client, feed.auth.username, feed.auth.password())
    except imaplib.IMAP4.error as error:
        raise LoginRefusedError from error


def _log_in_with_password(client: _Client, user: str, password: str) -> None:
    """LOGIN, whose words are ASCII (imaplib sends no other); a login beyond ASCII ("Kennwort-für-dpa") goes
    by SASL PLAIN, whose text is UTF-8 (RFC 4616), as mail clients send it."""
    if user.isascii() and password.isascii():
        client.login(user, password)
    elif "AUTH=PLAIN" in client.capabilities:
        client.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
    else:
        raise ImapError("the login has characters beyond ASCII, which LOGIN cannot send, and the server "
                        "offers no AUTH=PLAIN")


def _xoauth2(user: str, token: str) -> Callable[[bytes], bytes]:
    """SASL XOAUTH2's one message. A server refusing the token sends a challenge (its reason, as JSON) and
    then says NO to the empty answer."""
    return lambda challenge: b"" if challenge else f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def _start_tls(client: _Client, tls: ssl.SSLContext) -> None:
    # Without TLS the password would cross the network in clear, and a server (or someone in between)
    # that leaves STARTTLS out must not be able to make that happen.
    if "STARTTLS" not in client.capabilities:
        raise ImapError("the server offers no STARTTLS, and the password is not sent in clear")
    client.starttls(tls)


def _listing(client: _Client, uidvalidity: str) -> list[RemoteFile]:
    status, data = client.uid("FETCH", "1:*", "(UID RFC822.SIZE INTERNALDATE)")
    if status != "OK":
        raise ImapError(_text(data))
    files = []
    for line in data:
        if not isinstance(line, bytes):
            continue
        facts = dict(_facts(line))
        arrived = imaplib.Internaldate2tuple(line)
        if "UID" in facts and (file := listed_file(f"{uidvalidity}.{facts['UID']}", facts.get("SIZE"),
                                                   time.mktime(arrived) if arrived else None)):
            files.append(file)
    return files


def _facts(line: bytes) -> Iterator[tuple[str, int]]:
    for uid, size in _FETCHED.findall(line):
        yield ("UID", int(uid)) if uid else ("SIZE", int(size))


def _message(client: _Client, uid: str, at_most: int) -> bytes | None:
    status, data = client.uid("FETCH", uid, f"(BODY.PEEK[]<0.{at_most}>)")
    if status != "OK":
        raise ImapError(_text(data))
    return next((part[1] for part in data if isinstance(part, tuple)), None)


def modified_utf7(name: str) -> str:
    """A mailbox name as IMAP spells it (RFC 3501 5.1.3): printable ASCII as it is, ``&`` as ``&-``, and
    anything else as UTF-16 in base64 (``,`` for ``/``) between ``&`` and ``-``: "Entwürfe" is
    "Entw&APw-rfe"."""
    return _SHIFTED.sub(_shifted, name)


def _shifted(match: re.Match[str]) -> str:
    text = match.group()
    if text == "&":
        return "&-"
    return "&" + base64.b64encode(text.encode("utf-16-be")).decode("ascii").rstrip("=").replace("/", ",") + "-"


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list[Any]) -> str:
    return b" ".join(part for part in data if isinstance(part, bytes)).decode("utf-8", "replace")[:300]


@contextmanager
def _imap_errors(doing: str) -> Iterator[None]:
    """imaplib's errors as ImapError, worded for the feed's status; timeouts and lost connections too."""
    try:
        yield
    except ImapError as error:
        error.args = (f"{doing}: {error}",)  # the same error (a refused login stays one), worded in full
        raise
    except ssl.SSLError as error:
        raise ImapError(f"{doing}: TLS failed: {error.reason or error}") from error
    except TimeoutError as error:
        raise ImapError(f"{doing}: no answer in time") from error
    except (imaplib.IMAP4.error, OSError, EOFError, ValueError) as error:  # ValueError: a reply out of form
        raise ImapError(f"{doing}: {error or type(error).__name__}") from error
