"""SFTP feeds: wire copy collected from an agency's SFTP server, read from a real SFTP server on 127.0.0.1
(tests/sftp_server.py) with a real SQLite state store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from prometheus_client import REGISTRY

from services.poller import remote
from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, FetchLimits
from services.poller.remote import remote_directory
from services.poller.service import Poller
from services.poller.state import FeedState, PollerStore
from tests.sftp_server import SftpServer, running_sftp_server
from tests.unit.test_poller_service import Published
from tests.unit.test_poller_spool import AFP_NEWSML1, EFE_NITF, FIXTURES, REUTERS_G2

PASSWORD = "correct horse battery staple"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with running_sftp_server(tmp_path / "root", passwords={"wire": PASSWORD}) as running:
        yield running


def outgoing(server: SftpServer) -> Path:
    return server.root / "outgoing"


def deliver(server: SftpServer, name: str, *, age: float = 60.0, content: bytes | None = None) -> Path:
    return deliver_to(outgoing(server), name, age=age, content=content)


def deliver_to(folder: Path, name: str, *, age: float, content: bytes | None) -> Path:
    """A corpus file (or ``content``) as the agency's upload leaves it, last written ``age`` seconds ago."""
    target = folder / name
    if content is None:
        shutil.copyfile(FIXTURES / name, target)
    else:
        target.write_bytes(content)
    then = time.time() - age
    os.utime(target, (then, then))
    return target


def sftp_feed(server: SftpServer, *, path: str = "/outgoing/", password: str = PASSWORD,
              auth: dict[str, Any] | None = None) -> FeedConfig:
    auth = auth or {"type": "basic", "username": "wire", "password_env": "AGENCY_SFTP_PASSWORD"}
    feed = FeedConfig.model_validate({"id": "agency", "url": server.url(path, user=auth["username"]),
                                      "interval": 60, "auth": auth})
    assert feed.auth is not None
    feed.auth.load_secret({"AGENCY_SFTP_PASSWORD": password})
    return feed


async def poll(server: SftpServer, store: PollerStore, published: Published, feed: FeedConfig, *,
               known_hosts: Path, allow_private: bool = True, max_bytes: int = 16 * 1024 * 1024) -> str:
    fetcher = Fetcher(FetchLimits(allow_private_networks=allow_private, max_body_bytes=max_bytes))
    return await poll_once(feed, store, fetcher, published, sftp_known_hosts=known_hosts)


async def poll_once(feed: FeedConfig, store: PollerStore, fetcher: Fetcher, published: Published,
                    **options: Any) -> str:
    """One poll of the feed by a new poller (as after a restart), spooled files taken once 5 s old."""
    poller = Poller([feed], store, fetcher, published, spool_settle_seconds=5, **options)
    poller.load_states()
    try:
        return (await poller.poll(feed)).outcome
    finally:
        await fetcher.aclose()


def state_of(store: PollerStore, feed: FeedConfig) -> FeedState:
    return store.feed_state(feed.id, str(feed.url))


def spooled(result: str) -> float:
    return REGISTRY.get_sample_value("wirefeed_poller_spooled_files_total", {"feed": "agency", "result": result}) or 0


@pytest.fixture
def known_hosts(server: SftpServer, tmp_path: Path) -> Path:
    return server.known_hosts(tmp_path)


async def test_each_new_file_is_published_once_and_left_on_the_server(server: SftpServer, store: PollerStore,
                                                                      known_hosts: Path) -> None:
    for name, age in ((REUTERS_G2, 90), (EFE_NITF, 60), (AFP_NEWSML1, 30)):
        deliver(server, name, age=age)
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert [(item.format.value, item.title) for item in published] == [
        ("newsml-g2", "Confident Assad launches new term in stronger position"),
        ("nitf", "Honduran president announces Cabinet changes"),
        ("newsml-1", "Sweden court accepts receivership for Saab carmaker"),
    ]  # oldest first
    assert server.logins == ["wire"] and sorted(server.opened) == sorted([REUTERS_G2, EFE_NITF, AFP_NEWSML1])
    assert sorted(p.name for p in outgoing(server).iterdir()) == sorted([REUTERS_G2, EFE_NITF, AFP_NEWSML1])
    assert spooled("processed") >= 3

    # The next poll, and a restarted poller's, list the directory and download nothing.
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "not_modified"
    assert await poll(server, store, Published(), feed, known_hosts=known_hosts) == "not_modified"
    assert len(published) == 3 and len(server.opened) == 3 and len(server.logins) == 3


async def test_a_file_replaced_on_the_server_is_read_again(server: SftpServer, store: PollerStore,
                                                           known_hosts: Path) -> None:
    feed, published = sftp_feed(server), Published()
    original = (FIXTURES / EFE_NITF).read_bytes()
    deliver(server, EFE_NITF, age=120)
    await poll(server, store, published, feed, known_hosts=known_hosts)
    deliver(server, EFE_NITF, age=60, content=original)  # the same story uploaded again
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert len(server.opened) == 2 and len(published) == 1  # read again, nothing new in it
    edited = original.replace(b"Honduran president announces Cabinet changes", b"Honduran president names Cabinet")
    assert edited != original
    deliver(server, EFE_NITF, age=30, content=edited)
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes",
                                                   "Honduran president names Cabinet"]


async def test_uploads_in_progress_hidden_files_and_folders_are_left_alone(server: SftpServer, store: PollerStore,
                                                                           known_hosts: Path) -> None:
    deliver(server, EFE_NITF, age=1)  # still being written (or just finished): read once it settles
    for name in (".hidden.xml", "story.xml.part", "story.tmp"):
        deliver(server, AFP_NEWSML1, age=60).rename(outgoing(server) / name)
    (outgoing(server) / "archive").mkdir()
    (outgoing(server) / "link.xml").symlink_to(FIXTURES / AFP_NEWSML1)
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "not_modified"
    assert not published and not server.opened
    deliver(server, EFE_NITF, age=10)
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert server.opened == [EFE_NITF] and len(published) == 1


async def test_a_file_that_is_no_document_or_too_large_is_counted_and_not_read_again(
        server: SftpServer, store: PollerStore, known_hosts: Path) -> None:
    failed_before = spooled("failed")
    deliver(server, "garbage.xml", content=b"\x00\x01 not a wire document")
    deliver(server, "huge.xml", content=b"<x>" + b"y" * 5000 + b"</x>")
    deliver(server, EFE_NITF)
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts, max_bytes=4000) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert spooled("failed") == failed_before + 2
    assert "huge.xml" not in server.opened  # its listed size was enough to refuse it
    assert state_of(store, feed).consecutive_failures == 0  # bad files are not a failing feed
    opened = len(server.opened)
    assert await poll(server, store, published, feed, known_hosts=known_hosts, max_bytes=4000) == "not_modified"
    assert len(server.opened) == opened and spooled("failed") == failed_before + 2


async def test_a_file_whose_name_is_not_utf8_is_read_and_remembered(server: SftpServer, store: PollerStore,
                                                                    known_hosts: Path) -> None:
    # SFTP names are bytes: a Latin-1 one (a Windows upload's) failed every listing of the directory.
    name = os.fsdecode(b"Honduras_\xe9.xml")
    shutil.copyfile(FIXTURES / EFE_NITF, outgoing(server) / name)
    then = time.time() - 60
    os.utime(outgoing(server) / name, (then, then))
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert [item.title for item in published] == ["Honduran president announces Cabinet changes"]
    assert server.opened == [name]
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "not_modified"
    assert len(published) == 1 and server.opened == [name]


async def test_a_key_login_and_a_directory_relative_to_home(tmp_path: Path, store: PollerStore) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "agency_key"
    key_file.write_bytes(key.export_private_key())
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with running_sftp_server(tmp_path / "root", client_keys={"afp": key}) as server:
        deliver(server, AFP_NEWSML1)
        feed = sftp_feed(server, path="/~/outgoing/",
                         auth={"type": "ssh_key", "username": "afp", "key_file": str(key_file)})
        published = Published()
        assert remote_directory("/~/outgoing/") == "outgoing/" and remote_directory("/out/") == "/out/"
        assert await poll(server, store, published, feed, known_hosts=server.known_hosts(tmp_path)) == "ok"
        assert server.logins == ["afp"] and [item.title for item in published] == [
            "Sweden court accepts receivership for Saab carmaker"]


async def test_a_key_with_a_passphrase(tmp_path: Path, store: PollerStore) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "agency_key"
    key_file.write_bytes(key.export_private_key(passphrase="open sesame"))  # as ssh-keygen writes it
    (tmp_path / "root" / "outgoing").mkdir(parents=True)
    with running_sftp_server(tmp_path / "root", client_keys={"afp": key}) as server:
        deliver(server, AFP_NEWSML1)
        published = Published()
        for passphrase, outcome in (("wrong", "sftp_error"), ("open sesame", "ok")):
            feed = sftp_feed(server, auth={"type": "ssh_key", "username": "afp", "key_file": str(key_file),
                                           "passphrase_env": "AGENCY_SFTP_PASSWORD"}, password=passphrase)
            assert await poll(server, store, published, feed, known_hosts=server.known_hosts(tmp_path)) == outcome
        assert server.logins == ["afp"] and len(published) == 1  # the wrong passphrase got no further
        feed = sftp_feed(server, auth={"type": "ssh_key", "username": "afp", "key_file": str(key_file)})
        assert await poll(server, store, Published(), feed, known_hosts=server.known_hosts(tmp_path)) == "sftp_error"
    error = state_of(store, feed).last_error or ""
    assert "the feed's ssh_key cannot be read: Passphrase must be specified" in error and "open sesame" not in error


async def test_an_unknown_host_key_refuses_the_server_before_any_login(server: SftpServer, store: PollerStore,
                                                                      tmp_path: Path) -> None:
    deliver(server, EFE_NITF)
    impostor = server.known_hosts(tmp_path, asyncssh.generate_private_key("ssh-ed25519"))
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=impostor) == "sftp_error"
    state = state_of(store, feed)
    assert "host key not trusted" in (state.last_error or "") and state.consecutive_failures == 1
    assert not server.logins and not published
    assert await poll(server, store, published, feed, known_hosts=tmp_path / "missing") == "sftp_error"
    assert not server.logins


async def test_a_refused_login_and_a_missing_directory_fail_the_feed(server: SftpServer, store: PollerStore,
                                                                     known_hosts: Path) -> None:
    feed = sftp_feed(server, password="wrong")
    assert await poll(server, store, Published(), feed, known_hosts=known_hosts) == "sftp_error"
    assert "login refused" in (state_of(store, feed).last_error or "")
    assert PASSWORD not in (state_of(store, feed).last_error or "")
    feed = sftp_feed(server, path="/gone/")
    assert await poll(server, store, Published(), feed, known_hosts=known_hosts) == "sftp_error"
    assert "cannot list /gone/" in (state_of(store, feed).last_error or "")


async def test_a_private_address_is_refused_before_connecting(server: SftpServer, store: PollerStore,
                                                              known_hosts: Path) -> None:
    deliver(server, EFE_NITF)
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts, allow_private=False) \
        == "blocked_address"
    assert not server.logins and not published


async def test_when_kafka_refuses_the_file_is_read_again_later(server: SftpServer, store: PollerStore,
                                                               known_hosts: Path) -> None:
    deliver(server, EFE_NITF)
    feed, published = sftp_feed(server), Published()
    published.fail = True
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "publish_error"
    assert state_of(store, feed).consecutive_failures == 1
    published.fail = False
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "ok"
    assert len(published) == 1


def test_an_sftp_feed_signs_in_with_a_secret_kept_out_of_its_url() -> None:
    basic = {"type": "basic", "username": "wire", "password_env": "P"}
    assert FeedConfig.model_validate({"id": "a", "url": "sftp://wire@sftp.example.com/out/", "auth": basic}).is_sftp
    assert FeedConfig.model_validate({"id": "a", "url": "sftp://sftp.example.com:2222/out/", "auth": basic}).is_spool
    refused = {
        "sftp://wire:hunter2@sftp.example.com/out/": (basic, "not in the URL"),
        "sftp://other@sftp.example.com/out/": (basic, "differ"),
        "sftp:///out/": (basic, "names its server"),
        "sftp://sftp.example.com/out/": ({"type": "bearer", "token_env": "T"}, r"basic \(a password\) or ssh_key"),
        "https://example.com/feed": ({"type": "ssh_key", "username": "u", "key_env": "K"}, "for SFTP feeds"),
    }
    for url, (auth, message) in refused.items():
        with pytest.raises(ValueError, match=message):
            FeedConfig.model_validate({"id": "a", "url": url, "auth": auth})
    with pytest.raises(ValueError, match=r"basic \(a password\) or ssh_key"):
        FeedConfig.model_validate({"id": "a", "url": "sftp://sftp.example.com/out/"})
    with pytest.raises(ValueError, match="takes none"):
        FeedConfig.model_validate({"id": "a", "url": "sftp://wire@sftp.example.com/out/", "auth": basic,
                                   "headers": {"X-Key": "1"}})


async def test_a_listing_beyond_the_bound_is_refused_not_held(server: SftpServer, store: PollerStore,
                                                              known_hosts: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "MAX_LISTED", 3)
    for n in range(4):
        deliver(server, f"{n}.xml", content=b"<x/>")
    feed, published = sftp_feed(server), Published()
    assert await poll(server, store, published, feed, known_hosts=known_hosts) == "spool_error"
    assert "lists more than 3 entries" in (state_of(store, feed).last_error or "")
    assert not server.opened and not published


def test_a_poller_of_http_feeds_loads_no_ssh_ftp_or_imap_client() -> None:
    """asyncssh and cryptography alone cost every poller 18 MiB: loaded when a feed needs them."""
    code = ("import sys, services.poller.__main__, services.poller.service; "
            "print(sorted({'asyncssh', 'ftplib', 'imaplib', 'cryptography'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
