"""FTP feeds: wire copy collected from an agency's FTP server, read from a real FTP server on 127.0.0.1
(tests/ftp_server.py: plain, with explicit TLS, and without MLSD as vsftpd) with a real SQLite state store."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.poller import ftp, remote
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.ftp import FtpSpool, ftp_spool
from services.poller.remote import RemoteFile
from services.poller.spool import FileTooLargeError, UnusableFileError
from services.poller.state import PollerStore
from tests.ftp_server import FtpServer, running_ftp_server
from tests.unit.test_poller_service import Published
from tests.unit.test_poller_sftp import deliver_to, poll_once, state_of
from tests.unit.test_poller_spool import AFP_NEWSML1, EFE_NITF, FIXTURES, REUTERS_G2

PASSWORD = "correct horse battery staple"
KINDS = ["ftp", "ftps", "implicit-ftps", "ftp-without-mlsd"]


@pytest.fixture(params=KINDS)
def server(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FtpServer]:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with tls_server(tmp_path, monkeypatch, implicit=request.param == "implicit-ftps",
                    tls=request.param.endswith("ftps"), mlsd=request.param != "ftp-without-mlsd") as running:
        yield running


@contextmanager
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, implicit: bool, tls: bool = True,
               mlsd: bool = True) -> Iterator[FtpServer]:
    """A server with TLS, implicit (on what the poller takes for implicit FTPS's port) or explicit, or none."""
    with running_ftp_server(tmp_path / "root", passwords={"wire": PASSWORD}, tls_folder=tmp_path if tls else None,
                            implicit_tls=implicit, mlsd=mlsd) as running:
        if implicit:
            monkeypatch.setattr(ftp, "IMPLICIT_TLS_PORTS", frozenset({990, running.port}))
        yield running


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[FtpServer]:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with running_ftp_server(tmp_path / "root", passwords={"wire": PASSWORD}) as running:
        yield running


def deliver(server: FtpServer, name: str, *, age: float = 60.0, content: bytes | None = None) -> Path:
    return deliver_to(server.root / "outgoing", name, age=age, content=content)


def ftp_feed(server: FtpServer, *, path: str = "/outgoing/", password: str = PASSWORD, **settings: Any) -> FeedConfig:
    feed = FeedConfig.model_validate({
        "id": "agency", "url": server.url(path), "interval": 60,
        "auth": {"type": "basic", "username": "wire", "password_env": "AGENCY_FTP_PASSWORD"}, **settings})
    assert feed.auth is not None
    feed.auth.load_secret({"AGENCY_FTP_PASSWORD": password})
    return feed


def fetcher_for(server: FtpServer, *, allow_private: bool = True, tls: ssl.SSLContext | None = None,
                max_bytes: int = 16 * 1024 * 1024) -> Fetcher:
    limits = FetchLimits(allow_private_networks=allow_private, max_body_bytes=max_bytes)
    return Fetcher(limits, ssl_context=tls or server.tls_context)


async def poll(server: FtpServer, store: PollerStore, published: Published, feed: FeedConfig,
               **options: Any) -> str:
    return await poll_once(feed, store, fetcher_for(server, **options), published)


async def test_each_new_file_is_published_once_and_left_on_the_server(server: FtpServer, store: PollerStore) -> None:
    for name, age in ((REUTERS_G2, 90), (EFE_NITF, 60), (AFP_NEWSML1, 30)):
        deliver(server, name, age=age)
    deliver(server, "writing.xml", age=1, content=b"<nitf>")  # an upload in progress
    deliver(server, "story.xml.part", content=b"<nitf>")
    (server.root / "outgoing" / "archive").mkdir()
    feed, published = ftp_feed(server), Published()
    assert await poll(server, store, published, feed) == "ok"
    assert [(item.format.value, item.title) for item in published] == [
        ("newsml-g2", "Confident Assad launches new term in stronger position"),
        ("nitf", "Honduran president announces Cabinet changes"),
        ("newsml-1", "Sweden court accepts receivership for Saab carmaker"),
    ]  # oldest first
    assert server.logins == ["wire"] and server.opened == [REUTERS_G2, EFE_NITF, AFP_NEWSML1]
    assert sorted(p.name for p in (server.root / "outgoing").iterdir()) == sorted(
        [REUTERS_G2, EFE_NITF, AFP_NEWSML1, "writing.xml", "story.xml.part", "archive"])

    # The next poll lists the directory and downloads nothing; a file replaced is read again.
    assert await poll(server, store, published, feed) == "not_modified"
    assert len(published) == 3 and len(server.opened) == 3
    original = (FIXTURES / EFE_NITF).read_bytes()
    deliver(server, EFE_NITF, age=20, content=original.replace(b"announces Cabinet changes", b"names Cabinet"))
    assert await poll(server, store, published, feed) == "ok"
    assert server.opened[3:] == [EFE_NITF] and published[-1].title == "Honduran president names Cabinet"


async def test_a_file_whose_name_is_not_utf8_is_read_and_remembered(server: FtpServer, store: PollerStore) -> None:
    # FTP names are bytes: a Latin-1 one (a Windows upload's) was listed with U+FFFD in it, which the server
    # could not find, so the story was set aside unread.
    name = os.fsdecode(b"Honduras_\xe9.xml")
    deliver_to(server.root / "outgoing", EFE_NITF, age=60, content=None).rename(server.root / "outgoing" / name)
    feed, published = ftp_feed(server), Published()
    assert await poll(server, store, published, feed) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert server.opened == [name]
    assert await poll(server, store, published, feed) == "not_modified"
    assert len(published) == 1 and server.opened == [name]


async def test_a_refused_login_and_a_missing_directory_fail_the_feed(plain_server: FtpServer,
                                                                     store: PollerStore) -> None:
    feed = ftp_feed(plain_server, password="wrong")
    assert await poll(plain_server, store, Published(), feed) == "ftp_error"
    error = state_of(store, feed).last_error or ""
    assert "login refused" in error and PASSWORD not in error and "wrong" not in error
    feed = ftp_feed(plain_server, path="/gone/")
    assert await poll(plain_server, store, Published(), feed) == "ftp_error"
    assert "cannot list /gone/" in (state_of(store, feed).last_error or "")


@pytest.mark.parametrize("implicit", [False, True])
async def test_an_untrusted_certificate_refuses_the_server_before_the_password_is_sent(
        tmp_path: Path, store: PollerStore, monkeypatch: pytest.MonkeyPatch, implicit: bool) -> None:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with tls_server(tmp_path, monkeypatch, implicit=implicit) as server:
        deliver(server, EFE_NITF)
        feed = ftp_feed(server)
        assert await poll(server, store, Published(), feed, tls=ssl.create_default_context()) == "ftp_error"
        assert "TLS failed" in (state_of(store, feed).last_error or "") and not server.logins


@asynccontextmanager
async def signed_in(server: FtpServer, store: PollerStore) -> AsyncIterator[FtpSpool]:
    fetcher = fetcher_for(server)
    try:
        async with ftp_spool(ftp_feed(server), fetcher, store, settle_seconds=5, off_loop=_on_thread,
                             clock=lambda: datetime.now(UTC)) as spool:
            yield spool
    finally:
        await fetcher.aclose()


async def _on_thread(work: Any, *args: Any) -> Any:
    return await asyncio.to_thread(work, *args)


async def test_a_file_larger_than_listed_is_cut_at_the_limit_and_the_session_goes_on(
        plain_server: FtpServer, store: PollerStore) -> None:
    deliver(plain_server, "big.xml", content=b"<x>" + b"y" * 200_000 + b"</x>")
    deliver(plain_server, EFE_NITF)
    async with signed_in(plain_server, store) as spool:
        lying = RemoteFile("big.xml", 10, 0)  # a server whose listing understates the file
        with pytest.raises(FileTooLargeError):
            await spool.read(lying, 1000)
        assert [file.name for file in (await spool.waiting()).files] == ["big.xml", EFE_NITF]
        assert b"Honduran" in await spool.read(RemoteFile(EFE_NITF, 0, 0), 1_000_000)


async def test_a_file_the_server_refuses_to_send_is_set_aside(plain_server: FtpServer, store: PollerStore) -> None:
    deliver(plain_server, EFE_NITF).unlink()  # listed, then gone (or, alike for FTP's 550, not ours to read)
    async with signed_in(plain_server, store) as spool:
        with pytest.raises(UnusableFileError, match=f"cannot read {EFE_NITF}: 550"):
            await spool.read(RemoteFile(EFE_NITF, 100, 0), 1_000_000)


async def test_a_private_address_is_refused_before_connecting(plain_server: FtpServer, store: PollerStore) -> None:
    deliver(plain_server, EFE_NITF)
    published = Published()
    assert await poll(plain_server, store, published, ftp_feed(plain_server), allow_private=False) \
        == "blocked_address"
    assert not plain_server.logins and not published


async def test_a_server_in_the_feeds_private_networks_is_reached_with_the_global_switch_off(
        plain_server: FtpServer, store: PollerStore) -> None:
    # An agency's FTP server in the newsroom's own data centre: listed in the feed's private_networks.
    deliver(plain_server, EFE_NITF)
    feed, published = ftp_feed(plain_server, private_networks=["127.0.0.1"]), Published()
    assert await poll(plain_server, store, published, feed, allow_private=False) == "ok"
    assert plain_server.logins == ["wire"] and [item.format.value for item in published] == ["nitf"]


async def test_a_reply_that_never_ends_is_cut_at_its_bound(tmp_path: Path, store: PollerStore) -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def endless_welcome() -> None:
        with suppress(OSError):  # the client hung up, as it should
            client, _ = listener.accept()
            with client:
                while True:
                    client.sendall(b"220-welcome to the wire\r\n" * 100)

    threading.Thread(target=endless_welcome, daemon=True).start()
    server = FtpServer(tmp_path, port=listener.getsockname()[1])
    feed = ftp_feed(server)
    try:
        assert await poll(server, store, Published(), feed) == "ftp_error"
    finally:
        listener.close()
    assert "a reply of more than 1000 lines" in (state_of(store, feed).last_error or "")  # not a timeout


async def test_data_connections_go_to_the_checked_server_whatever_pasv_names(tmp_path: Path,
                                                                             store: PollerStore) -> None:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    # PASV naming another address is how a hostile server would aim the poller at an internal host (here
    # one that stays on this machine: nothing listens on 127.0.0.2).
    with running_ftp_server(tmp_path / "root", passwords={"wire": PASSWORD}, pasv_address="127.0.0.2") as server:
        deliver(server, EFE_NITF)
        published = Published()
        assert await poll(server, store, published, ftp_feed(server)) == "ok"
        assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]


async def test_a_listing_beyond_the_bound_is_refused_not_held(plain_server: FtpServer, store: PollerStore,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "MAX_LISTED", 3)
    for n in range(4):
        deliver(plain_server, f"{n}.xml", content=b"<x/>")
    feed = ftp_feed(plain_server)
    assert await poll(plain_server, store, Published(), feed) == "spool_error"
    assert "lists more than 3 entries" in (state_of(store, feed).last_error or "")
    assert not plain_server.opened


def test_an_ftp_feed_signs_in_with_a_password_kept_out_of_its_url() -> None:
    basic = {"type": "basic", "username": "wire", "password_env": "P"}
    assert FeedConfig.model_validate({"id": "a", "url": "ftps://wire@ftp.example.com/out/", "auth": basic}).is_ftp
    assert FeedConfig.model_validate({"id": "a", "url": "ftp://ftp.example.com/pub/"}).is_spool  # anonymous
    refused = {
        "ftp://wire:hunter2@ftp.example.com/out/": (basic, "not in the URL"),
        "ftps://other@ftp.example.com/out/": (basic, "differ"),
        "ftp://ftp.example.com/out/": ({"type": "bearer", "token_env": "T"}, "type basic, or anonymously"),
    }
    for url, (auth, message) in refused.items():
        with pytest.raises(ValueError, match=message):
            FeedConfig.model_validate({"id": "a", "url": url, "auth": auth})
