"""A feed's ``private_networks``: its own requests may reach those private addresses, with the global
switch (WIREFEED_ALLOW_PRIVATE_NETWORKS) off; every other private address stays refused, before the
request and at connect time, and every other feed stays kept off them.

Real sockets on 127.0.0.1 (and 127.0.0.2, loopback too on Linux); DNS is a stub answering per name, so
a test can make a name answer differently each time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest

from services.poller.addresses import is_blocked
from services.poller.fetch import BlockedAddressError, Fetcher, FetchLimits
from tests.helpers import FeedServer, Resource, eventually, rss

FEED = rss("Intranet", [{"title": "Memo", "link": "http://intranet.example/a", "guid": "a-1", "body": "<p>Hi.</p>"}])
LOOPBACK = [ip_network("127.0.0.0/8")]
ONLY_127_0_0_1 = [ip_network("127.0.0.1/32")]
INTRANET = [ip_network("10.1.0.0/16")]


class NameResolver:
    """Answers a lookup of a name with the next of its answers (the last one repeats); counts lookups."""

    def __init__(self, **answers: list[list[str]]) -> None:
        self.answers = {name.replace("_", "-") + ".test": list(each) for name, each in answers.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers[host]
        return answers[min(self.lookups.count(host), len(answers)) - 1]


def port_of(server: FeedServer) -> int:
    assert server.server is not None
    return int(server.server.server_address[1])


@pytest.mark.parametrize(("address", "allowed", "blocked"), [
    ("10.1.2.3", INTRANET, False),
    ("10.2.0.1", INTRANET, True),  # private, outside the list
    ("127.0.0.1", INTRANET, True),
    ("169.254.169.254", [ip_network("10.0.0.0/8")], True),  # the metadata address is no intranet's
    ("93.184.216.34", INTRANET, False),  # public addresses are reached anyway
    ("fd00:1::5", [ip_network("fd00:1::/64")], False),
    ("fe80::1%eth0", [ip_network("fe80::/64")], False),  # a zone is no part of the address
    ("fd00:2::5", [ip_network("fd00:1::/64")], True),
    ("::ffff:10.1.2.3", INTRANET, True),  # an IPv6 form is allowed only when its own network is listed
    ("::ffff:10.1.2.3", [ip_network("::ffff:10.1.0.0/112")], False),
    ("10.1.2.3", [], True),
])
def test_a_private_address_is_refused_unless_in_an_allowed_network(address: str, allowed: list[Any],
                                                                   blocked: bool) -> None:
    assert is_blocked(address, allowed) is blocked


async def test_only_the_allowed_feeds_fetches_reach_its_private_network(feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(FEED)
    fetcher = Fetcher(FetchLimits())  # WIREFEED_ALLOW_PRIVATE_NETWORKS off
    url = feed_server.url("/feed.xml")
    try:
        assert (await fetcher.allowing(LOOPBACK).fetch(url)).body == FEED
        with pytest.raises(BlockedAddressError, match=r"resolves to a non-public address 127\.0\.0\.1$"):
            await fetcher.fetch(url)  # another feed, allowed nothing
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1 outside the feed's private_networks"):
            await fetcher.allowing(INTRANET).fetch(url)  # a feed allowed another network
    finally:
        await fetcher.aclose()
    assert [path for path, _ in feed_server.requests] == ["/feed.xml"]


async def test_the_global_switch_still_allows_every_feed(feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(FEED)
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    try:
        assert fetcher.allowing(INTRANET) is fetcher
        assert (await fetcher.allowing(INTRANET).fetch(feed_server.url("/feed.xml"))).body == FEED
    finally:
        await fetcher.aclose()


@pytest.fixture
def listener_on_127_0_0_2() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.2 (loopback, outside 127.0.0.1/32) that records whether anyone connected."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


def connected(listener: socket.socket) -> bool:
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return False
    return True


async def test_a_redirect_from_an_allowed_feed_to_a_private_address_outside_its_networks_is_refused(
        feed_server: FeedServer, listener_on_127_0_0_2: socket.socket) -> None:
    elsewhere = f"http://127.0.0.2:{listener_on_127_0_0_2.getsockname()[1]}/admin"
    feed_server.resources["/feed.xml"] = Resource(b"", status=302, headers={"Location": elsewhere})
    feed_server.resources["/moved.xml"] = Resource(b"", status=301, headers={"Location": "/feed2.xml"})
    feed_server.resources["/feed2.xml"] = Resource(FEED)
    fetcher = Fetcher(FetchLimits())
    try:
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2 outside the feed's private_networks"):
            await fetcher.allowing(ONLY_127_0_0_1).fetch(feed_server.url("/feed.xml"))
        # a redirect within its networks is followed
        assert (await fetcher.allowing(ONLY_127_0_0_1).fetch(feed_server.url("/moved.xml"))).body == FEED
    finally:
        await fetcher.aclose()
    assert not connected(listener_on_127_0_0_2)


async def test_a_name_rebinding_outside_the_allowed_network_is_refused_at_connect_time(
        feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(FEED)
    # In the feed's intranet for the check before the request, loopback when the connection is made.
    resolver = NameResolver(intranet=[["10.1.2.3"], ["127.0.0.1"]])
    fetcher = Fetcher(FetchLimits(), resolver=resolver)
    try:
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1 outside the feed's private_networks"):
            await fetcher.allowing(INTRANET).fetch(f"http://intranet.test:{port_of(feed_server)}/feed.xml")
    finally:
        await fetcher.aclose()
    assert resolver.lookups == ["intranet.test", "intranet.test"]
    assert feed_server.requests == []


@pytest.fixture
def keep_alive_server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1 that keeps connections open (HTTP/1.1) and records each one."""
    server = FeedServer(keep_alive=True).start()
    server.resources["/feed.xml"] = Resource(FEED)
    yield server
    server.stop()


async def test_a_connection_kept_open_for_an_allowed_feed_never_carries_another_feeds_request(
        keep_alive_server: FeedServer) -> None:
    # The allowed feed's fetch leaves a kept-alive connection to 127.0.0.1 for shared.test. Another feed's
    # check of the same name gets a public answer (a rebinding DNS server): had the two shared a pool, its
    # request would have gone down that open connection, to the private address, with no connect-time check.
    resolver = NameResolver(shared=[["127.0.0.1"], ["127.0.0.1"], ["93.184.216.34"], ["127.0.0.1"]])
    fetcher = Fetcher(FetchLimits(), resolver=resolver)
    url = f"http://shared.test:{port_of(keep_alive_server)}/feed.xml"
    try:
        assert (await fetcher.allowing(LOOPBACK).fetch(url)).body == FEED
        with pytest.raises(BlockedAddressError, match=r"non-public address 127\.0\.0\.1$"):
            await fetcher.fetch(url)
        assert (await fetcher.allowing(LOOPBACK).fetch(url)).body == FEED  # its own connection, kept
    finally:
        await fetcher.aclose()
    assert [path for path, _ in keep_alive_server.requests] == ["/feed.xml", "/feed.xml"]
    assert len(keep_alive_server.opened) == 1
    assert resolver.lookups == ["shared.test"] * 5  # the second allowed fetch: checked, then its kept connection


async def test_servers_of_sftp_ftp_and_imap_feeds_are_reached_under_the_same_allowance(
        feed_server: FeedServer) -> None:
    fetcher = Fetcher(FetchLimits())
    try:
        sock = await fetcher.allowing(LOOPBACK).connect_tcp("127.0.0.1", port_of(feed_server))
        sock.close()
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1 outside the feed's private_networks"):
            await fetcher.allowing(INTRANET).connect_tcp("127.0.0.1", port_of(feed_server))
        with pytest.raises(BlockedAddressError):
            await fetcher.connect_tcp("127.0.0.1", port_of(feed_server))
    finally:
        await fetcher.aclose()


async def test_feeds_allowed_the_same_networks_share_a_fetcher_and_closing_closes_them_all() -> None:
    fetcher = Fetcher(FetchLimits())
    intranet = fetcher.allowing(INTRANET)
    assert fetcher.allowing([ip_network("10.1.0.0/16")]) is intranet
    assert fetcher.allowing([]) is fetcher and intranet.allowing([]) is fetcher
    assert fetcher.allowing(LOOPBACK) is not intranet
    await fetcher.aclose()
    assert intranet._client.is_closed


async def test_an_allowance_no_feed_uses_any_more_has_its_kept_connections_closed(
        keep_alive_server: FeedServer) -> None:
    # A reload changed the feed's list from LOOPBACK to ONLY_127_0_0_1: nothing asks for the old allowance's
    # pool again, so its kept-alive connection would stay open as long as the poller runs.
    fetcher = Fetcher(FetchLimits())
    url = keep_alive_server.url("/feed.xml")
    try:
        assert (await fetcher.allowing(LOOPBACK).fetch(url)).body == FEED
        assert (await fetcher.allowing(ONLY_127_0_0_1).fetch(url)).body == FEED
        under_old_list, under_new_list = keep_alive_server.opened
        fetcher.retire_unused([ONLY_127_0_0_1, INTRANET])
        await eventually(lambda: keep_alive_server.open_connections() == {under_new_list}, timeout=5,
                         message="the old list's connection closed, the new one's kept")
        assert (await fetcher.allowing(ONLY_127_0_0_1).fetch(url)).body == FEED
    finally:
        await fetcher.aclose()
    assert keep_alive_server.opened == [under_old_list, under_new_list]  # the new list's connection was reused


async def test_a_fetch_in_flight_under_a_retired_allowance_ends_before_its_connection_is_closed(
        keep_alive_server: FeedServer) -> None:
    gate = threading.Event()
    keep_alive_server.resources["/slow.xml"] = Resource(FEED, gate=gate)
    fetcher = Fetcher(FetchLimits())
    try:
        fetching = asyncio.create_task(fetcher.allowing(LOOPBACK).fetch(keep_alive_server.url("/slow.xml")))
        await eventually(lambda: keep_alive_server.requests, message="the request at the server")
        fetcher.retire_unused([])  # the feed was taken out of the feeds file while its poll was under way
        gate.set()
        assert (await fetching).body == FEED
        # That poll's next page: the allowance still works for it, with a connection closed after it.
        assert (await fetcher.allowing(LOOPBACK).fetch(keep_alive_server.url("/feed.xml"))).body == FEED
        await eventually(lambda: not keep_alive_server.open_connections(), timeout=5,
                         message="the retired allowance's connections closed")
    finally:
        gate.set()
        await fetcher.aclose()
    assert [path for path, _ in keep_alive_server.requests] == ["/slow.xml", "/feed.xml"]
