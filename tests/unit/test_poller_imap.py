"""IMAP feeds: messages read from a mailbox on a real IMAP server on 127.0.0.1 (pymap, tests/imap_server.py;
imap:// with STARTTLS, imaps through a TLS front), with a real SQLite state store."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
import structlog

from services.poller import remote
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.imap import mailbox_name, modified_utf7
from services.poller.state import PollerStore
from tests.certificates import self_signed_certificate
from tests.imap_server import ImapServer, running_imap_server, tls_front
from tests.oauth_server import running_token_endpoint
from tests.unit.test_poller_service import Published
from tests.unit.test_poller_sftp import poll_once, state_of
from tests.unit.test_poller_spool import FIXTURES, MAIL, spooled

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    with running_imap_server(tmp_path_factory.mktemp("imap"), user="desk", password=PASSWORD) as server:
        yield server


@pytest.fixture
def mailbox(imap_server: ImapServer, request: pytest.FixtureRequest) -> str:
    """A mailbox of the test's own on the shared server."""
    name = "Wire" + str(abs(hash(request.node.name)))
    with imap_server.session() as client:
        status, data = client.create(name)
        assert status == "OK", data
    return name


def press_release(title: str, *, sender: str = "Acme Corp <press@acme.example>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "desk@newsroom.example", title
    message["Date"], message["Message-ID"] = format_datetime(datetime.now(UTC)), make_msgid(domain="acme.example")
    message.set_content(f"{title}.\n\nAcme Corp said on Monday that it would open a plant in Leeds.\n")
    return bytes(message)


def imap_feed(server: ImapServer, mailbox: str, *, password: str = PASSWORD) -> FeedConfig:
    feed = FeedConfig.model_validate({
        "id": "desk-mail", "url": server.url(mailbox), "interval": 60,
        "auth": {"type": "basic", "username": server.user, "password_env": "DESK_MAIL_PASSWORD"}})
    assert feed.auth is not None
    feed.auth.load_secret({"DESK_MAIL_PASSWORD": password})
    return feed


async def poll(server: ImapServer, store: PollerStore, published: Published, feed: FeedConfig, *,
               allow_private: bool = True, max_bytes: int = 16 * 1024 * 1024,
               tls: ssl.SSLContext | None = None) -> str:
    limits = FetchLimits(allow_private_networks=allow_private, max_body_bytes=max_bytes)
    return await poll_once(feed, store, Fetcher(limits, ssl_context=tls or server.tls_context), published)


async def test_each_new_message_is_published_once_and_left_unread(imap_server: ImapServer, mailbox: str,
                                                                  store: PollerStore) -> None:
    imap_server.deliver((FIXTURES / MAIL).read_bytes(), age=120, mailbox=mailbox)
    imap_server.deliver(press_release("Acme opens plant in Leeds"), age=60, mailbox=mailbox)
    feed, published = imap_feed(imap_server, mailbox), Published()
    assert feed.url.scheme == "imap"  # upgraded with STARTTLS
    assert await poll(imap_server, store, published, feed) == "ok"
    assert [(item.format.value, item.title) for item in published] == [
        ("email", "Test message 1234"), ("email", "Acme opens plant in Leeds")]  # as they arrived
    assert await poll(imap_server, store, published, feed) == "not_modified"
    imap_server.deliver(press_release("Acme names new chief"), age=30, mailbox=mailbox)
    assert await poll(imap_server, store, published, feed) == "ok"
    assert [item.title for item in published][2:] == ["Acme names new chief"]
    assert imap_server.unseen(mailbox) == 3  # nothing marked read, moved or deleted


async def test_a_message_just_delivered_waits_for_the_settle_time(imap_server: ImapServer, mailbox: str,
                                                                  store: PollerStore) -> None:
    imap_server.deliver(press_release("Acme opens plant in Leeds"), age=0, mailbox=mailbox)
    assert await poll(imap_server, store, Published(), imap_feed(imap_server, mailbox)) == "not_modified"


async def test_an_empty_mailbox_and_a_message_over_the_limit(imap_server: ImapServer, mailbox: str,
                                                             store: PollerStore) -> None:
    feed, published = imap_feed(imap_server, mailbox), Published()
    assert await poll(imap_server, store, published, feed) == "not_modified"
    imap_server.deliver(press_release("Acme opens plant in Leeds " + "x" * 3000), mailbox=mailbox)
    imap_server.deliver(press_release("Acme names new chief"), mailbox=mailbox)
    assert await poll(imap_server, store, published, feed, max_bytes=2000) == "ok"
    assert [item.title for item in published] == ["Acme names new chief"]
    assert state_of(store, feed).consecutive_failures == 0


async def test_a_refused_login_and_a_missing_mailbox_fail_the_feed(imap_server: ImapServer, mailbox: str,
                                                                   store: PollerStore) -> None:
    feed = imap_feed(imap_server, mailbox, password="wrong")
    assert await poll(imap_server, store, Published(), feed) == "imap_error"
    error = state_of(store, feed).last_error or ""
    assert "login refused" in error and PASSWORD not in error and "wrong" not in error
    feed = imap_feed(imap_server, "NoSuchBox")
    assert await poll(imap_server, store, Published(), feed) == "imap_error"
    assert "cannot open NoSuchBox" in (state_of(store, feed).last_error or "")


async def test_a_mailbox_named_beyond_ascii(imap_server: ImapServer, store: PollerStore) -> None:
    name = "Entwürfe-台北"
    with imap_server.session() as client:
        status, data = client.create(modified_utf7(name))
        assert status == "OK", data
    imap_server.deliver(press_release("Acme opens plant in Leeds"), mailbox=modified_utf7(name))
    feed, published = imap_feed(imap_server, name), Published()
    assert mailbox_name(feed) == name
    assert await poll(imap_server, store, published, feed) == "ok"
    assert [item.title for item in published] == ["Acme opens plant in Leeds"]


def test_modified_utf7_spells_mailbox_names_as_rfc_3501_does() -> None:
    assert modified_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501's example
    assert modified_utf7("Entwürfe") == "Entw&APw-rfe"
    assert modified_utf7("R&D") == "R&-D" and modified_utf7("INBOX") == "INBOX"


async def test_a_private_address_is_refused_before_connecting(imap_server: ImapServer, mailbox: str,
                                                              store: PollerStore) -> None:
    imap_server.deliver(press_release("Acme opens plant in Leeds"), mailbox=mailbox)
    published = Published()
    assert await poll(imap_server, store, published, imap_feed(imap_server, mailbox), allow_private=False) \
        == "blocked_address"
    assert not published


async def test_a_mailbox_larger_than_the_bound_is_refused(imap_server: ImapServer, mailbox: str, store: PollerStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "MAX_LISTED", 1)
    for title in ("One", "Two"):
        imap_server.deliver(press_release(title), mailbox=mailbox)
    feed = imap_feed(imap_server, mailbox)
    assert await poll(imap_server, store, Published(), feed) == "spool_error"
    assert "lists more than 1 entries" in (state_of(store, feed).last_error or "")


async def test_imaps_reads_over_tls_and_refuses_an_untrusted_certificate(tmp_path: Path, store: PollerStore) -> None:
    with running_imap_server(tmp_path, user="desk", password=PASSWORD, implicit_tls=True) as server:
        server.deliver(press_release("Acme opens plant in Leeds"))
        feed, published = imap_feed(server, "INBOX"), Published()
        assert feed.url.scheme == "imaps"
        assert await poll(server, store, published, feed, tls=ssl.create_default_context()) == "imap_error"
        assert "TLS failed" in (state_of(store, feed).last_error or "") and not published
        assert await poll(server, store, published, feed) == "ok"
        assert [item.title for item in published] == ["Acme opens plant in Leeds"]


async def test_starttls_refuses_an_untrusted_certificate(imap_server: ImapServer, mailbox: str,
                                                        store: PollerStore) -> None:
    imap_server.deliver(press_release("Acme opens plant in Leeds"), mailbox=mailbox)
    feed, published = imap_feed(imap_server, mailbox), Published()
    assert await poll(imap_server, store, published, feed, tls=ssl.create_default_context()) == "imap_error"
    assert "TLS failed" in (state_of(store, feed).last_error or "") and not published


async def test_no_password_is_sent_to_a_server_without_starttls(store: PollerStore) -> None:
    received: list[bytes] = []
    with scripted_imap_server(b"{5}", received=received) as port:
        server = ImapServer(port, port, "desk", PASSWORD)
        feed, published = imap_feed(server, "INBOX"), Published()
        assert await poll(server, store, published, feed) == "imap_error"
    assert "offers no STARTTLS, and the password is not sent in clear" in (state_of(store, feed).last_error or "")
    assert received and not any(PASSWORD.encode() in line or b"LOGIN" in line.upper() for line in received)


async def test_a_password_beyond_ascii_signs_in_by_sasl_plain(tmp_path: Path, store: PollerStore) -> None:
    # LOGIN's words are ASCII: such a password failed every poll, and the error named one of its letters.
    password = "Kennwort-für-dpa-€"
    with running_imap_server(tmp_path, user="desk", password=password) as server:
        server.deliver(press_release("Acme opens plant in Leeds"))
        published = Published()
        assert await poll(server, store, published, imap_feed(server, "INBOX", password=password)) == "ok"
        assert [item.title for item in published] == ["Acme opens plant in Leeds"]
        feed = imap_feed(server, "INBOX", password="Kennwort-für-afp")
        assert await poll(server, store, Published(), feed) == "imap_error"
    error = state_of(store, feed).last_error or ""
    assert "login refused" in error and "ü" not in error and "\\xfc" not in error


async def test_a_password_beyond_ascii_is_not_sent_to_a_server_without_sasl_plain(tmp_path: Path,
                                                                                    store: PollerStore) -> None:
    received: list[bytes] = []
    cert_file, key_file = self_signed_certificate(tmp_path)
    with scripted_imap_server(b"{5}", received=received) as port, tls_front(port, cert_file, key_file) as front_port:
        server = ImapServer(port, front_port, "desk", PASSWORD, ssl.create_default_context(cafile=str(cert_file)),
                            implicit_tls=True)
        assert await poll(server, store, Published(), imap_feed(server, "INBOX", password="für")) == "imap_error"
    assert "offers no AUTH=PLAIN" in (state_of(store, imap_feed(server, "INBOX")).last_error or "")
    assert received and not any(b"LOGIN" in line.upper() or b"AUTHENTICATE" in line.upper() for line in received)


def token_feed(server: ImapServer, mailbox: str, auth: dict[str, Any], **secrets: str) -> FeedConfig:
    feed = FeedConfig.model_validate({"id": "desk-mail", "url": server.url(mailbox), "interval": 60, "auth": auth})
    assert feed.auth is not None
    feed.auth.load_secret(secrets)
    return feed


async def test_an_oauth2_login_reads_the_mailbox_and_renews_a_refused_token(imap_server: ImapServer, mailbox: str,
                                                                            store: PollerStore) -> None:
    imap_server.deliver(press_release("Acme opens plant in Leeds"), mailbox=mailbox)
    assert imap_server.certificate is not None
    with running_token_endpoint(imap_server.certificate, "revoked-token") as endpoint:
        feed = token_feed(imap_server, mailbox, {"type": "oauth2", "token_url": endpoint.url, "client_id": "wirefeed",
                                                 "refresh_token_env": "REFRESH"}, REFRESH="refresh-1")
        published = Published()
        assert await poll(imap_server, store, published, feed) == "imap_error"  # the server refuses the token
        assert "login refused" in (state_of(store, feed).last_error or "") and not published
        endpoint.access_token = imap_server.password  # tests/pymap_xoauth2.py: the token it takes
        assert await poll(imap_server, store, published, feed) == "ok"
        assert await poll(imap_server, store, published, feed) == "not_modified"  # the token held
    assert [item.title for item in published] == ["Acme opens plant in Leeds"]
    assert [form["grant_type"] for form in endpoint.forms] == ["refresh_token", "refresh_token"]
    assert imap_server.unseen(mailbox) == 1


async def test_a_bearer_token_signs_in_and_a_server_without_xoauth2_is_told_apart(
        imap_server: ImapServer, mailbox: str, store: PollerStore, tmp_path: Path) -> None:
    imap_server.deliver(press_release("Acme opens plant in Leeds"), mailbox=mailbox)
    bearer = {"type": "bearer", "token_env": "TOKEN"}
    published = Published()
    feed = token_feed(imap_server, mailbox, bearer, TOKEN=imap_server.password)
    assert await poll(imap_server, store, published, feed) == "ok"
    assert [item.title for item in published] == ["Acme opens plant in Leeds"]
    cert_file, key_file = self_signed_certificate(tmp_path)
    with scripted_imap_server(b"{5}") as port, tls_front(port, cert_file, key_file) as front_port:
        server = ImapServer(port, front_port, "desk", PASSWORD, ssl.create_default_context(cafile=str(cert_file)),
                            implicit_tls=True)
        feed = token_feed(server, "INBOX", bearer, TOKEN=imap_server.password)
        assert await poll(server, store, Published(), feed) == "imap_error"
    assert "takes no OAuth 2.0 login (AUTH=XOAUTH2)" in (state_of(store, feed).last_error or "")


async def test_a_listing_longer_than_the_mailbox_declared_is_cut_at_its_bound(
        tmp_path: Path, store: PollerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "MAX_LISTED", 10)
    cert_file, key_file = self_signed_certificate(tmp_path)
    with scripted_imap_server(b"{5}", listed=5000) as port, tls_front(port, cert_file, key_file) as front_port:
        server = ImapServer(port, front_port, "desk", PASSWORD, ssl.create_default_context(cafile=str(cert_file)),
                            implicit_tls=True)
        feed = imap_feed(server, "INBOX")
        assert await poll(server, store, Published(), feed) == "imap_error"
    assert "the server sends more than 110 responses to one command" in (state_of(store, feed).last_error or "")


async def test_a_mailbox_whose_message_count_is_no_number_is_an_imap_error(
        tmp_path: Path, store: PollerStore) -> None:
    cert_file, key_file = self_signed_certificate(tmp_path)
    with scripted_imap_server(b"{5}", exists=b"9" * 5000) as port, tls_front(port, cert_file, key_file) as front_port:
        server = ImapServer(port, front_port, "desk", PASSWORD, ssl.create_default_context(cafile=str(cert_file)),
                            implicit_tls=True)
        feed = imap_feed(server, "INBOX")
        # read as a number past any mailbox: "lists more than 100000 entries"
        assert await poll(server, store, Published(), feed) == "imap_error"
    assert "no message count" in (state_of(store, feed).last_error or "")


def test_an_imap_feed_signs_in_with_a_password_and_names_an_ascii_mailbox() -> None:
    basic: dict[str, Any] = {"type": "basic", "username": "desk", "password_env": "P"}
    feed = FeedConfig.model_validate({"id": "a", "url": "imaps://desk@mail.example.com/Wire/AP", "auth": basic})
    assert feed.is_imap and feed.is_spool
    assert mailbox_name(feed) == "Wire/AP"
    assert mailbox_name(FeedConfig.model_validate({"id": "a", "url": "imaps://mail.example.com", "auth": basic})) \
        == "INBOX"
    for url, auth, message in (
        ("imaps://mail.example.com/INBOX", None, "auth of type basic, oauth2 or bearer"),
        ("imaps://desk:hunter2@mail.example.com/INBOX", basic, "not in the URL"),
    ):
        with pytest.raises(ValueError, match=message):
            FeedConfig.model_validate({"id": "a", "url": url, "auth": auth})


@contextmanager
def scripted_imap_server(body_literal: bytes, *, received: list[bytes] | None = None,
                         listed: int = 1, exists: bytes = b"1") -> Iterator[int]:
    """An IMAP server without TLS that declares one message but lists ``listed`` and, asked for a body,
    announces ``body_literal`` (a server that ignores the partial fetch asked of it, or means harm); the
    commands it gets go into ``received``."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(client: socket.socket) -> None:
        with suppress(OSError), client, client.makefile("rb") as lines:
            client.sendall(b"* OK scripted\r\n")
            while line := lines.readline():
                if received is not None:
                    received.append(line)
                client.sendall(_scripted_answer(line.rstrip(b"\r\n"), body_literal, listed, exists))

    def accept() -> None:
        with suppress(OSError):  # the listener closed: the test is over
            while True:
                threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def _scripted_answer(command: bytes, body_literal: bytes, listed: int, exists: bytes) -> bytes:
    tag, _, rest = command.partition(b" ")
    verb = rest.upper()
    if verb.startswith(b"CAPABILITY"):
        return b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n"
    if verb.startswith(b"EXAMINE"):
        return b"* " + exists + b" EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag + b" OK [READ-ONLY] done\r\n"
    if verb.startswith(b"UID FETCH") and b"RFC822.SIZE" in verb:
        return (b"".join(b'* %d FETCH (UID %d RFC822.SIZE 100 INTERNALDATE "01-Jan-2020 00:00:00 +0000")\r\n'
                         % (n, n + 4) for n in range(1, listed + 1)) + tag + b" OK done\r\n")
    if verb.startswith(b"UID FETCH"):
        return b"* 1 FETCH (UID 5 BODY[]<0> " + body_literal + b"\r\n"
    return tag + b" OK done\r\n"


async def test_a_body_larger_than_asked_for_is_set_aside_before_it_is_read(tmp_path: Path, store: PollerStore) -> None:
    cert_file, key_file = self_signed_certificate(tmp_path)
    failed_before = spooled("desk-mail", "failed")
    with scripted_imap_server(b"{999999999}") as port, tls_front(port, cert_file, key_file) as front_port:
        server = ImapServer(port, front_port, "desk", PASSWORD, ssl.create_default_context(cafile=str(cert_file)),
                            implicit_tls=True)
        feed, published = imap_feed(server, "INBOX"), Published()
        with structlog.testing.capture_logs() as logs:
            assert await poll(server, store, published, feed) == "ok"  # the poll goes on: the feed is not stuck
        assert await poll(server, store, published, feed) == "not_modified"  # a new session; not read again
    assert not published and spooled("desk-mail", "failed") == failed_before + 1
    [setaside] = [entry for entry in logs if entry["event"] == "spooled_file_failed"]
    assert setaside["file"] == "7.5" and "larger than" in setaside["error"]
    [(name, reason)] = [(f.name, f.reason) for f in store.failed_files("desk-mail")]  # for `wirefeed feeds failed`
    assert name == "7.5" and reason.startswith("FileTooLargeError: 7.5 is larger than")
