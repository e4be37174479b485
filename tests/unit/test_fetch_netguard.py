"""Connect-time address checks (DNS rebinding), name-preserving connects (Host, SNI) and the HTTP proxy.

Real sockets on 127.0.0.1; DNS is a stub so a test can make a name answer differently each time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from services.poller.fetch import (
    BlockedAddressError,
    Fetcher,
    FetchLimits,
    InvalidURLError,
    SystemResolver,
    UnresolvedHostError,
    make_fetcher,
)
from services.poller.settings import PollerSettings
from tests.conftest import ROOT
from tests.helpers import FeedServer, Resource, eventually, rss

FEED = rss("Coast", [{"title": "Storm", "link": "http://example.com/a", "guid": "a-1", "body": "<p>Rain.</p>"}])


class StubResolver:
    """Answers each lookup of a name with the next of ``answers`` (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def port_of(server: FeedServer) -> int:
    assert server.server is not None
    return int(server.server.server_address[1])


async def test_a_name_that_rebinds_to_a_private_address_between_check_and_connect_is_refused(
        feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(FEED)
    resolver = StubResolver(["93.184.216.34"], ["127.0.0.1"])  # public for the check, private to connect
    fetcher = Fetcher(FetchLimits(), resolver=resolver)
    with pytest.raises(BlockedAddressError, match=r"rebind\.test resolves to a non-public address 127\.0\.0\.1"):
        await fetcher.fetch(f"http://rebind.test:{port_of(feed_server)}/feed.xml")
    await fetcher.aclose()
    assert resolver.lookups == ["rebind.test", "rebind.test"]  # checked before the request and at connect
    assert feed_server.requests == []  # no byte reached the private address


async def test_the_connection_goes_to_the_checked_address_and_keeps_the_host_name(feed_server: FeedServer) -> None:
    feed_server.resources["/feed.xml"] = Resource(FEED)
    resolver = StubResolver(["127.0.0.1"])
    fetcher = Fetcher(FetchLimits(allow_private_networks=True), resolver=resolver)
    result = await fetcher.fetch(f"http://feeds.example:{port_of(feed_server)}/feed.xml")
    await fetcher.aclose()
    assert result.status == 200 and result.body == FEED
    assert feed_server.requests[0][1]["host"] == f"feeds.example:{port_of(feed_server)}"
    assert resolver.lookups == ["feeds.example"]  # private networks allowed: no pre-check, one lookup


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only feeds.example; records the SNI it got."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=feeds.example",
                    "-addext", "subjectAltName=DNS:feeds.example"], check=True, capture_output=True)
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name or "")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            self.wfile.write(FEED)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ssl.create_default_context(cafile=str(cert))
    yield int(server.server_address[1]), client, names
    server.shutdown()
    server.server_close()


async def test_tls_uses_the_host_name_for_sni_and_certificate_checks(
        tls_server: tuple[int, ssl.SSLContext, list[str]]) -> None:
    port, client_context, names = tls_server
    fetcher = Fetcher(FetchLimits(allow_private_networks=True), resolver=StubResolver(["127.0.0.1"]),
                      ssl_context=client_context)
    result = await fetcher.fetch(f"https://feeds.example:{port}/feed.xml")
    await fetcher.aclose()
    assert result.body == FEED  # the certificate for feeds.example verified while connected to 127.0.0.1
    assert names == ["feeds.example"]


async def test_feeds_are_fetched_through_the_configured_proxy(feed_server: FeedServer) -> None:
    # The feed server plays the proxy: it sees absolute-form request targets.
    feed_server.resources["http://feeds.example/feed.xml"] = Resource(FEED)
    settings = PollerSettings(http_proxy=SecretStr(feed_server.url("")), allow_private_networks=True)
    fetcher = make_fetcher(settings)
    result = await fetcher.fetch("http://feeds.example/feed.xml")
    await fetcher.aclose()
    assert result.body == FEED
    assert feed_server.requests[0][0] == "http://feeds.example/feed.xml"


async def test_with_a_proxy_the_address_check_before_the_request_still_applies(feed_server: FeedServer) -> None:
    feed_server.resources["http://intranet.example/feed.xml"] = Resource(FEED)
    fetcher = Fetcher(FetchLimits(), proxy=feed_server.url(""), resolver=StubResolver(["10.1.2.3"]))
    with pytest.raises(BlockedAddressError):
        await fetcher.fetch("http://intranet.example/feed.xml")
    public = Fetcher(FetchLimits(), proxy=feed_server.url(""), resolver=StubResolver(["93.184.216.34"]))
    feed_server.resources["http://public.example/feed.xml"] = Resource(FEED)
    assert (await public.fetch("http://public.example/feed.xml")).body == FEED
    await fetcher.aclose()
    await public.aclose()
    assert [path for path, _ in feed_server.requests] == ["http://public.example/feed.xml"]


async def test_behind_a_proxy_a_name_this_host_cannot_resolve_is_left_to_the_proxy(feed_server: FeedServer) -> None:
    # Corporate egress: only the proxy resolves public names. Without a proxy the same name fails.
    async def no_dns(host: str, port: int) -> list[str]:
        raise UnresolvedHostError(f"cannot resolve {host}: Name or service not known")

    feed_server.resources["http://feeds.example/feed.xml"] = Resource(FEED)
    proxied = Fetcher(FetchLimits(), proxy=feed_server.url(""), resolver=no_dns)
    direct = Fetcher(FetchLimits(), resolver=no_dns)
    try:
        assert (await proxied.fetch("http://feeds.example/feed.xml")).body == FEED
        with pytest.raises(UnresolvedHostError):
            await direct.fetch("http://feeds.example/feed.xml")
    finally:
        await proxied.aclose()
        await direct.aclose()


async def test_name_lookups_that_hang_do_not_hold_up_other_feeds(feed_server: FeedServer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # getaddrinfo blocks, so lookups run on threads. They ran on asyncio's default pool, of as few as six
    # (cpu_count + 4) threads: two hosts whose DNS servers stopped answering, polled four at a time each,
    # held every thread for the resolver's timeouts, and every other feed's lookup queued behind them
    # until its fetch timed out.
    feed_server.resources["/feed.xml"] = Resource(FEED)
    release = threading.Event()
    hung: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host.endswith(".hanging.test"):
            hung.append(host)
            release.wait(30)  # a DNS server that does not answer, until the test ends
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    fetcher = Fetcher(FetchLimits(allow_private_networks=True, total_timeout=5), max_connections=64)
    hanging = [asyncio.create_task(fetcher.fetch(f"http://feed{n}.hanging.test/feed.xml")) for n in range(40)]
    try:
        # the lookups have started (the smallest default pool has five threads)
        await eventually(lambda: len(hung) >= 5, timeout=10, message="five lookups hanging")
        result = await fetcher.fetch(f"http://localhost:{port_of(feed_server)}/feed.xml")
        assert result.status == 200
    finally:
        release.set()
        await asyncio.gather(*hanging, return_exceptions=True)
        await fetcher.aclose()


# A process whose poller stopped while one lookup hung on a DNS server that never answers.
STOPPED_WHILE_A_LOOKUP_HANGS = """
import asyncio, socket, threading
from services.poller.fetch import SystemResolver

asked = threading.Event()

def getaddrinfo(*args, **kwargs):
    asked.set()
    threading.Event().wait()

socket.getaddrinfo = getaddrinfo

async def main():
    resolver = SystemResolver(threads=4)
    lookups = [asyncio.ensure_future(resolver(f"feed{n}.hanging.test", 80)) for n in range(8)]
    await asyncio.to_thread(asked.wait, 10)
    for lookup in lookups:
        lookup.cancel()
    resolver.close()
    print("stopped", flush=True)

asyncio.run(main())
"""


def test_a_hanging_name_lookup_does_not_keep_a_stopped_poller_alive() -> None:
    # Python joins a ThreadPoolExecutor's threads at exit, so the process waited for the hanging lookup
    # (until the system resolver gave up, half a minute with a few nameservers) after the poller stopped.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", STOPPED_WHILE_A_LOOKUP_HANGS], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert process.stdout is not None and process.stdout.read() == "stopped\n"


async def test_lookups_beyond_the_threads_wait_for_one_and_a_closed_resolver_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    running: list[str] = []

    def getaddrinfo(host: str, port: int, **kwargs: Any) -> Any:
        running.append(host)
        release.wait(10)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    resolver = SystemResolver(threads=2)
    try:
        lookups = [asyncio.ensure_future(resolver(f"feed{n}.test", 80)) for n in range(5)]
        await eventually(lambda: len(running) >= 2, timeout=10, message="two lookups running")
        assert len(running) == 2  # two lookups at a time, on its two threads
        release.set()
        assert await asyncio.gather(*lookups) == [["192.0.2.1"]] * 5
        assert sorted(running) == [f"feed{n}.test" for n in range(5)]
    finally:
        release.set()
        resolver.close()
    with pytest.raises(RuntimeError, match="closed"):
        await resolver("feed.test", 80)


async def test_addresses_are_tried_in_the_order_the_system_resolver_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    # getaddrinfo orders them by RFC 6724 (IPv4 first on a host without a global IPv6 address); sorted as
    # text, an IPv6 address came first wherever its digits did, and where IPv6 packets are dropped rather
    # than refused, each new connection waited out the connect timeout before trying IPv4.
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
               (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800:220:1::", 80, 0, 0)),
               (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    resolver = SystemResolver(threads=1)
    try:
        assert await resolver("example.test", 80) == ["93.184.216.34", "2606:2800:220:1::"]
    finally:
        resolver.close()


async def test_a_name_the_idna_codec_refuses_is_a_fetch_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # getaddrinfo encodes the name first; its UnicodeError escaped the fetch, and the poll crashed.
    def getaddrinfo(host: str, port: int, **kwargs: Any) -> Any:
        raise UnicodeError("encoding with 'idna' codec failed (UnicodeError: label empty or too long)")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)  # the system's resolver is never asked here
    resolver = SystemResolver(threads=1)
    try:
        with pytest.raises(InvalidURLError, match="label empty or too long"):
            await resolver("x" * 64 + ".test", 80)
    finally:
        resolver.close()
