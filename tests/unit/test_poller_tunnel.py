"""SFTP, FTP and IMAP feeds behind an egress proxy: their connections (FTP's data connections too) go
through the proxy's CONNECT, tested with real servers and a CONNECT proxy on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.poller.fetch import Fetcher, FetchLimits
from services.poller.state import PollerStore
from tests.connect_proxy import ConnectProxy, running_connect_proxy
from tests.ftp_server import running_ftp_server
from tests.imap_server import running_imap_server
from tests.sftp_server import running_sftp_server
from tests.unit.test_poller_ftp import ftp_feed
from tests.unit.test_poller_imap import imap_feed, press_release
from tests.unit.test_poller_service import Published
from tests.unit.test_poller_sftp import PASSWORD, deliver_to, poll_once, sftp_feed, state_of
from tests.unit.test_poller_spool import EFE_NITF, REUTERS_G2

TITLES = {EFE_NITF: "Honduran president announces Cabinet changes",
          REUTERS_G2: "Confident Assad launches new term in stronger position"}


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with running_connect_proxy() as running:
        yield running


@pytest.fixture
def outgoing(tmp_path: Path) -> Path:
    folder = tmp_path / "root" / "outgoing"
    folder.mkdir(parents=True)
    for name, age in ((EFE_NITF, 120), (REUTERS_G2, 60)):
        deliver_to(folder, name, age=age, content=None)
    return folder


def through(proxy: ConnectProxy, login: str = "", **options: object) -> Fetcher:
    return Fetcher(FetchLimits(allow_private_networks=True), proxy=proxy.url(login), **options)  # type: ignore[arg-type]


async def test_an_sftp_feed_goes_through_the_proxy(proxy: ConnectProxy, outgoing: Path, tmp_path: Path,
                                                   store: PollerStore) -> None:
    with running_sftp_server(outgoing.parent, passwords={"wire": PASSWORD}) as server:
        published = Published()
        outcome = await poll_once(sftp_feed(server), store, through(proxy), published,
                                  sftp_known_hosts=server.known_hosts(tmp_path))
    assert outcome == "ok" and [item.title for item in published] == list(TITLES.values())
    assert proxy.targets == [f"127.0.0.1:{server.port}"]


@pytest.mark.parametrize("tls", [False, True])
async def test_an_ftp_feed_and_its_data_connections_go_through_the_proxy(
        proxy: ConnectProxy, outgoing: Path, tmp_path: Path, store: PollerStore, tls: bool) -> None:
    with running_ftp_server(outgoing.parent, passwords={"wire": PASSWORD},
                            tls_folder=tmp_path if tls else None) as server:
        published = Published()
        outcome = await poll_once(ftp_feed(server), store, through(proxy, ssl_context=server.tls_context), published)
    assert outcome == "ok" and [item.title for item in published] == list(TITLES.values())
    assert proxy.targets[0] == f"127.0.0.1:{server.port}"  # the control connection, then one per transfer
    assert len(proxy.targets) == 4 and all(target.startswith("127.0.0.1:") for target in proxy.targets)


async def test_a_mailbox_goes_through_the_proxy_with_the_proxys_login(proxy: ConnectProxy, tmp_path: Path,
                                                                      store: PollerStore) -> None:
    with running_imap_server(tmp_path, user="desk", password=PASSWORD, implicit_tls=True) as server:
        server.deliver(press_release("Acme opens plant in Leeds"))
        published = Published()
        outcome = await poll_once(imap_feed(server, "INBOX"), store,
                                  through(proxy, "egress:p%40ss", ssl_context=server.tls_context), published)
    assert outcome == "ok" and [item.title for item in published] == ["Acme opens plant in Leeds"]
    assert proxy.targets == [f"127.0.0.1:{server.port}"]
    assert proxy.authorizations == ["Basic " + base64.b64encode(b"egress:p@ss").decode()]


async def test_a_proxy_that_refuses_fails_the_feed_saying_so(proxy: ConnectProxy, outgoing: Path, tmp_path: Path,
                                                             store: PollerStore) -> None:
    proxy.refuse = True
    with running_sftp_server(outgoing.parent, passwords={"wire": PASSWORD}) as server:
        feed, published = sftp_feed(server), Published()
        assert await poll_once(feed, store, through(proxy, "egress:s3cret"), published,
                               sftp_known_hosts=server.known_hosts(tmp_path)) == "transport"
        error = state_of(store, feed).last_error or ""
        assert error == (f"transport: cannot connect to 127.0.0.1 port {server.port} through the proxy: the proxy "
                         f"would not connect to 127.0.0.1:{server.port}: HTTP/1.1 403 Forbidden")
        assert not server.logins and not published
        https_proxy = Fetcher(FetchLimits(allow_private_networks=True), proxy="https://egress:s3cret@127.0.0.1:1")
        assert await poll_once(feed, store, https_proxy, published,
                               sftp_known_hosts=server.known_hosts(tmp_path)) == "transport"
    error = state_of(store, feed).last_error or ""
    assert "only an http:// proxy carries SFTP, FTP and IMAP connections" in error and "s3cret" not in error


async def test_a_private_server_is_refused_before_the_proxy_is_asked(proxy: ConnectProxy, outgoing: Path,
                                                                     tmp_path: Path, store: PollerStore) -> None:
    with running_sftp_server(outgoing.parent, passwords={"wire": PASSWORD}) as server:
        blocked = Fetcher(FetchLimits(allow_private_networks=False), proxy=proxy.url())
        assert await poll_once(sftp_feed(server), store, blocked, Published(),
                               sftp_known_hosts=server.known_hosts(tmp_path)) == "blocked_address"
    assert proxy.targets == []
