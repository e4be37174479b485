"""HTTP fetching for feeds: conditional GET, bounded bodies, redirects checked hop by hop.

Every hop's host is resolved and refused when it points at a loopback, private, link-local or
metadata address (unless private networks are allowed, or the address is in one the feed's own
``private_networks`` lists: the rules are ``addresses.py``'s), so a feed cannot steer the poller inside
the network. The check is made twice: before the request, and again at connect time on the very
addresses the connection then uses (``netguard.py``), so a DNS answer that changes in between
(rebinding) cannot slip through.
Credentials (a feed's ``auth`` and its extra headers) go only to the feed's own origin, never to another
host a redirect points at, and are never copied into errors or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import queue
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from services.core.numbers import whole_number
from services.poller.addresses import IPNetwork, is_blocked
from services.poller.decoding import ACCEPT_ENCODING, BodyDecoder, DecodingError, TooLargeError
from services.poller.netguard import Resolver, guarded_transport, is_ip_literal
from services.poller.schedule import http_date
from services.poller.tunnel import tunnel

if TYPE_CHECKING:
    from services.poller.budget import BodyShare
    from services.poller.settings import PollerSettings

USER_AGENT = "wirefeed/0.1 (+https://wirefeed.dev/bot; feed poller)"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
PERMANENT_REDIRECTS = {301, 308}
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A feed could not be fetched; ``kind`` is a short, bounded label for metrics."""

    kind = "error"


class BlockedAddressError(FetchError):
    kind = "blocked_address"


class ResponseTooLargeError(FetchError):
    kind = "too_large"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class FetchTimeoutError(FetchError):
    kind = "timeout"


class TransportError(FetchError):
    kind = "transport"


class UnresolvedHostError(TransportError):
    """The host name has no address here (DNS failed or knows no such name)."""


class TooManyRedirectsError(FetchError):
    kind = "redirect_loop"


class InvalidURLError(FetchError):
    """A URL (the feed's, a redirect's Location, a next page, a hub) that cannot be fetched as written: a
    port out of range, a host name no resolver can look up. The feed's error, not the poller's."""

    kind = "invalid_url"


@dataclass(frozen=True)
class FetchLimits:
    max_body_bytes: int = 16 * 1024 * 1024
    max_decompressed_bytes: int = 64 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    allow_private_networks: bool = False


@dataclass(frozen=True)
class FetchResult:
    status: int
    final_url: str
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Fetches feeds (and WebSub hub requests) under the limits and address rules above.

    ``proxy`` sends every request through an HTTP proxy (httpx 0.28 ``proxy=``); the address check
    before each request still applies to names this host can resolve, the connect-time check cannot (the
    proxy connects), and a name this host cannot resolve is left to the proxy. ``transport``
    replaces the network entirely (tests); ``resolver`` replaces DNS (tests). ``private_networks``
    are the non-public addresses this fetcher may reach all the same (``allowing``: one feed's).
    """

    def __init__(self, limits: FetchLimits, *, proxy: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, resolver: Resolver | None = None,
                 ssl_context: ssl.SSLContext | None = None, max_connections: int = 64,
                 private_networks: Collection[IPNetwork] = ()) -> None:
        self.limits = limits
        self.private_networks = frozenset(private_networks)
        self._system_resolver: SystemResolver | None = None
        if resolver is None:  # its threads start when first asked; ``allowing``'s fetchers share their maker's
            resolver = self._system_resolver = SystemResolver(max_connections)
        self.resolver: Resolver = resolver
        self._tls_context = ssl_context
        self.proxy = proxy  # for the feeds that are not HTTP too, through its CONNECT (tunnel.py)
        self._given_transport = transport
        self._max_connections = max_connections
        self._family = _Family({self.private_networks: self})
        self._requests = 0  # fetches and posts under way through this fetcher's client
        self._client: httpx.AsyncClient | None = self._new_client()  # None: closed, its allowance retired

    def _new_client(self) -> httpx.AsyncClient:
        # No more connections than fetches in flight: httpcore scans its whole pool on every request,
        # so idle surplus connections cost CPU on each poll.
        pool = httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections)
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
            # Only WIREFEED_HTTP_PROXY decides about proxies: an inherited HTTP_PROXY would bypass the
            # guarded transport, and .netrc credentials must not be sent to feeds.
            trust_env=False,
            transport=self._given_transport or self._transport(self.proxy, pool, self._tls_context),
        )

    def _transport(self, proxy: str | None, pool: httpx.Limits,
                   ssl_context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
        verify: ssl.SSLContext | bool = ssl_context or True
        if proxy:
            return httpx.AsyncHTTPTransport(proxy=proxy, limits=pool, verify=verify, trust_env=False)
        return guarded_transport(self.resolver, self._check_addresses, limits=pool, ssl_context=ssl_context)

    def allowing(self, networks: Collection[IPNetwork]) -> Fetcher:
        """The fetcher for one feed's requests, which may also reach the private ``networks`` its feeds-file
        entry allows (``private_networks``): every other non-public address stays refused, before each
        request and at connect time, redirects and next pages included. Itself when there are none, or
        when every private network is allowed anyway.

        Each allowance has a connection pool of its own: a kept-alive connection to an allowed address
        must never carry another feed's request, which a name rebinding to a public address for that
        feed's check would otherwise reuse. Feeds allowed the same networks share one."""
        if self.limits.allow_private_networks:
            return self
        allowance = frozenset(networks)
        members = self._family.members
        if allowance not in members:
            fetcher = Fetcher(self.limits, proxy=self.proxy, transport=self._given_transport, resolver=self.resolver,
                              ssl_context=self._tls_context, max_connections=self._max_connections,
                              private_networks=allowance)
            fetcher._family = self._family
            members[allowance] = fetcher
        return members[allowance]

    def retire_unused(self, in_use: Iterable[Collection[IPNetwork]]) -> None:
        """The allowances the feeds configured now use (the feeds file read again): the connection pool of
        every other one is closed once its requests under way have ended (at once when none are), as nothing
        would ask for it again and the connections it keeps alive would stay open for as long as the poller
        runs. This fetcher's own is kept. A retired allowance still serves whoever asks for it (a poll of a
        feed taken out of the file or given another list, still under way): its pool is opened again for
        the request and closed after it. Called on the event loop the fetches run on."""
        self._family.in_use = frozenset({self.private_networks, *map(frozenset, in_use)})
        for fetcher in list(self._family.members.values()):
            fetcher._close_if_retired()

    async def aclose(self) -> None:
        """Closes this fetcher and every one of its family (``allowing``)."""
        family = self._family
        while family.members:
            fetcher = family.members.popitem()[1]
            if fetcher._client is not None:
                await fetcher._client.aclose()
            if fetcher._system_resolver is not None:
                fetcher._system_resolver.close()
        await asyncio.gather(*family.closing)

    def _http(self) -> httpx.AsyncClient:
        """This fetcher's client, opened again when a retired allowance is asked for after all."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    @contextlib.contextmanager
    def _under_way(self) -> Iterator[None]:
        """A request through this fetcher's client: its pool is not closed under it (``retire_unused``)."""
        self._requests += 1
        try:
            yield
        finally:
            self._requests -= 1
            self._close_if_retired()

    def _close_if_retired(self) -> None:
        if self._client is None or self._requests or self._family.uses(self.private_networks):
            return
        client, self._client = self._client, None
        self._family.close_soon(client)

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    headers: dict[str, str] | None = None, authorization: SecretStr | None = None,
                    share: BodyShare | None = None, credentials_for: str | None = None) -> FetchResult:
        """The answer at ``url`` after redirects; its body's bytes are taken from ``share`` as they arrive.

        ``headers`` and ``authorization`` go only to ``credentials_for``'s origin (default: ``url``'s). A
        poller fetching a feed at the URL a permanent redirect left names the configured URL here: the
        stored URL is where the feed moved, not whom its credentials are for."""
        plain = {"Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                           "application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
        if etag:
            plain["If-None-Match"] = as_sent(etag)
        if last_modified:
            plain["If-Modified-Since"] = as_sent(last_modified)
        credentials = dict(headers or {})
        if authorization is not None:
            credentials["Authorization"] = authorization.get_secret_value()
        try:
            with self._under_way():
                return await asyncio.wait_for(self._follow(url, plain, credentials, share, credentials_for or url),
                                              self.limits.total_timeout)
        except TimeoutError as error:
            raise FetchTimeoutError(f"no complete answer within {self.limits.total_timeout:g}s") from error

    async def post_form(self, url: str, data: dict[str, str]) -> int:
        """POST a form (a WebSub hub request) under the same address rules; no redirects followed. A hub's
        answer is its status: the body is not read."""
        status, _ = await self._post(url, data, read_body=False)
        return status

    async def post_form_for_json(self, url: str, data: dict[str, str]) -> tuple[int, Any]:
        """POST a form and read the answer as JSON (an OAuth 2.0 token request): (status, the decoded
        document, or None when the body is not JSON)."""
        status, body = await self._post(url, data, read_body=True)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    async def _post(self, url: str, data: dict[str, str], *, read_body: bool) -> tuple[int, bytes]:
        await self._check_target(url)
        try:
            with self._under_way():
                return await asyncio.wait_for(self._posted(url, data, read_body), self.limits.total_timeout)
        except TimeoutError as error:
            raise FetchTimeoutError(f"no answer within {self.limits.total_timeout:g}s") from error
        except httpx.TimeoutException as error:
            raise FetchTimeoutError(f"{type(error).__name__} while posting") from error
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {_safe_message(error)}") from error

    @functools.cached_property
    def tls_context(self) -> ssl.SSLContext:
        """For TLS outside HTTP (FTPS and IMAPS feeds): the system's trust store, or the one tests give. Made
        when first asked for: loading the trust store costs every start of a poller of HTTP feeds."""
        return self._tls_context or ssl.create_default_context()

    async def connect_tcp(self, host: str, port: int) -> socket.socket:
        """A TCP connection to one of the host's addresses, each checked first, as for HTTP (SFTP, FTP and
        IMAP feeds use it); through the proxy's CONNECT when there is one."""
        if self.proxy:
            return await self._tunnelled(self.proxy, host, port)
        addresses = [host.strip("[]")] if is_ip_literal(host) else await self.resolver(host, port)
        self._check_addresses(host, addresses)
        error: FetchError = TransportError(f"no address for {host}")
        for address in addresses:
            try:
                return await asyncio.wait_for(_connected(address, port), self.limits.connect_timeout)
            except TimeoutError:
                error = FetchTimeoutError(f"no connection to {host} port {port} within "
                                          f"{self.limits.connect_timeout:g}s")
            except OSError as failure:
                error = TransportError(f"cannot connect to {host} port {port}: {failure.strerror or failure}")
        raise error

    async def _tunnelled(self, proxy: str, host: str, port: int) -> socket.socket:
        try:
            addresses = [host.strip("[]")] if is_ip_literal(host) else await self.resolver(host, port)
            self._check_addresses(host, addresses)
        except UnresolvedHostError:
            pass  # behind a proxy-only egress the proxy resolves names; its own rules decide about them
        timeout = self.limits.connect_timeout
        try:
            sock = await asyncio.wait_for(asyncio.to_thread(tunnel, proxy, host, port, timeout), timeout)
        except TimeoutError as error:
            raise FetchTimeoutError(f"no connection to {host} port {port} through the proxy within "
                                    f"{timeout:g}s") from error
        except OSError as failure:
            raise TransportError(f"cannot connect to {host} port {port} through the proxy: "
                                 f"{failure.strerror or failure}") from failure
        sock.setblocking(False)  # as a direct connection is handed over
        return sock

    async def _posted(self, url: str, data: dict[str, str], read_body: bool) -> tuple[int, bytes]:
        async with self._http().stream("POST", url, data=data) as response:
            return response.status_code, await self._read_bounded(response) if read_body else b""

    async def _follow(self, url: str, plain: dict[str, str], credentials: dict[str, str],
                      share: BodyShare | None, owner: str) -> FetchResult:
        permanent: str | None = None
        chain_permanent = True
        for _ in range(MAX_REDIRECTS + 1):
            await self._check_target(url)
            result = await self._get(url, {**plain, **credentials} if same_origin(owner, url) else plain, share)
            if result.status not in REDIRECT_STATUSES:
                return _with_permanent(result, permanent)
            location = result.headers.get("location")
            if not location:
                raise HTTPStatusError(result.status)
            chain_permanent = chain_permanent and result.status in PERMANENT_REDIRECTS
            try:
                url = urljoin(url, location)
            except ValueError as error:  # an IPv6 host's bracket left open
                raise InvalidURLError(f"unreadable Location: {str(error)[:200]}") from None
            permanent = url if chain_permanent else None
        raise TooManyRedirectsError(f"more than {MAX_REDIRECTS} redirects")

    async def _get(self, url: str, headers: dict[str, str], share: BodyShare | None) -> FetchResult:
        try:
            async with self._http().stream("GET", url, headers=_request_headers(headers)) as response:
                body = b"" if response.status_code in REDIRECT_STATUSES or response.status_code == 304 \
                    else await self._read_bounded(response, share)
        except httpx.TimeoutException as error:
            raise FetchTimeoutError(f"{type(error).__name__} while fetching") from error
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {_safe_message(error)}") from error
        except (UnicodeError, httpx.InvalidURL) as error:
            # httpx reads a redirect's Location (its host's IDNA labels too) even when not following it
            raise InvalidURLError(f"unreadable Location: {str(error)[:200]}") from None
        answer = FetchResult(
            status=response.status_code,
            final_url=_without_userinfo(response.url),
            body=body,
            etag=validator(response, b"etag"),
            last_modified=validator(response, b"last-modified"),
            content_type=response.headers.get("content-type"),
            headers={k.lower(): v for k, v in response.headers.items()},
        )
        if response.status_code >= 400 and response.status_code != 410:
            raise HTTPStatusError(response.status_code, retry_after_seconds(answer.headers.get("retry-after")))
        return answer

    async def _read_bounded(self, response: httpx.Response, share: BodyShare | None = None) -> bytes:
        declared = whole_number(response.headers.get("content-length"))
        if declared is not None and declared > self.limits.max_body_bytes:
            raise ResponseTooLargeError(f"Content-Length {declared} exceeds {self.limits.max_body_bytes} bytes")
        limit = self.limits.max_decompressed_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async for piece in self._decoded(response):
                size += len(piece)
                if size > limit:
                    raise ResponseTooLargeError(f"decompressed body exceeds {limit} bytes")
                if share is not None:
                    share.take(len(piece))
                chunks.append(piece)
        except TooLargeError as error:
            raise ResponseTooLargeError(str(error)) from error
        except DecodingError as error:
            raise TransportError(f"DecodingError: {error}") from error
        return b"".join(chunks)

    async def _decoded(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The body as it arrives, its Content-Encoding undone here a bounded piece at a time (decoding.py)."""
        if response.is_stream_consumed:  # a response made whole (httpx.MockTransport's), which httpx decoded
            yield response.content
            return
        limit = self.limits.max_decompressed_bytes
        decoder = BodyDecoder(response.headers.get_list("content-encoding", split_commas=True), limit)
        async for raw in response.aiter_raw():
            if response.num_bytes_downloaded > self.limits.max_body_bytes:
                raise ResponseTooLargeError(f"body exceeds {self.limits.max_body_bytes} bytes")
            for piece in decoder.feed(raw):
                yield piece

    async def _check_target(self, url: str) -> None:
        """Every URL fetched or posted to passes here first: a readable one, then (unless private networks
        are allowed) one whose host has public addresses only."""
        _, host, port = fetchable(url)
        if self.limits.allow_private_networks:
            return
        try:
            addresses = [host] if is_ip_literal(host) else await self.resolver(host, port)
        except UnresolvedHostError:
            if self.proxy:
                return  # behind a proxy-only egress the proxy resolves names; its own rules decide about them
            raise
        self._check_addresses(host, addresses)

    def _check_addresses(self, host: str, addresses: list[str]) -> None:
        if self.limits.allow_private_networks:
            return
        for address in addresses:
            if is_blocked(address, self.private_networks):
                beyond = " outside the feed's private_networks" if self.private_networks else ""
                raise BlockedAddressError(f"{host} resolves to a non-public address {address}{beyond}")


@dataclass
class _Family:
    """A fetcher and those its ``allowing`` made, by the private networks each allows: closed together."""

    members: dict[frozenset[IPNetwork], Fetcher]
    # The allowances the feeds configured now use (``retire_unused``); None: every one, until told.
    in_use: frozenset[frozenset[IPNetwork]] | None = None
    closing: set[asyncio.Task[None]] = field(default_factory=set)  # retired allowances' pools

    def uses(self, allowance: frozenset[IPNetwork]) -> bool:
        return self.in_use is None or allowance in self.in_use

    def close_soon(self, client: httpx.AsyncClient) -> None:
        closing = asyncio.get_running_loop().create_task(client.aclose())
        self.closing.add(closing)  # a task only the loop refers to may be collected before it has run
        closing.add_done_callback(self.closing.discard)


def make_fetcher(settings: PollerSettings) -> Fetcher:
    """A fetcher under the poller's configured limits, address rules and proxy."""
    limits = FetchLimits(
        max_body_bytes=settings.max_body_bytes,
        max_decompressed_bytes=settings.max_decompressed_bytes,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        total_timeout=settings.total_timeout_seconds,
        allow_private_networks=settings.allow_private_networks,
    )
    return Fetcher(limits, proxy=settings.proxy_url, max_connections=settings.max_concurrency)


async def _connected(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(address.split("%", 1)[0]).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


class SystemResolver:
    """The system's resolver (getaddrinfo: /etc/hosts, DNS, as configured) on threads of its own, one per
    fetch that may be in flight. A lookup holds its thread for as long as the DNS server takes to answer
    or time out; on asyncio's default pool (as few as cpu_count + 4 threads, which ``to_thread`` shares),
    two hosts whose DNS servers stopped answering, polled four at a time each, held every thread, and
    every other feed's lookup waited behind them until its fetch timed out.

    The threads are daemon threads, started as lookups need them: Python joins a ThreadPoolExecutor's
    threads at exit, so one lookup hanging on a silent DNS server kept a stopped poller's process alive
    until the resolver gave up (half a minute with a few nameservers), past a container's grace period."""

    def __init__(self, threads: int) -> None:
        self._max_threads = threads
        self._threads = 0
        self._unanswered = 0  # lookups asked for and not yet taken up and answered
        self._closed = False
        self._lock = threading.Lock()
        self._lookups: queue.SimpleQueue[_Lookup | None] = queue.SimpleQueue()

    async def __call__(self, host: str, port: int) -> list[str]:
        answer: Future[list[Any]] = Future()
        self._ask(_Lookup(answer, host, port))
        try:
            infos = await asyncio.wrap_future(answer)  # cancelling the wait cancels a lookup not yet begun
        except socket.gaierror as error:
            raise UnresolvedHostError(f"cannot resolve {host}: {error.strerror}") from error
        except UnicodeError as error:  # the IDNA codec refused the name (a label over 63 characters)
            raise InvalidURLError(f"{host[:100]!r} is no name DNS can look up: {str(error)[:200]}") from None
        # In getaddrinfo's order (RFC 6724: an IPv6 address first only where this host can reach one),
        # each address once (an answer per socket type and protocol).
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    def close(self) -> None:
        """Lets each thread end after its lookup; those not begun are cancelled."""
        with self._lock:
            self._closed = True
            threads = self._threads
        while True:
            try:
                lookup = self._lookups.get_nowait()
            except queue.Empty:
                break
            if lookup is not None:
                lookup.answer.cancel()
        for _ in range(threads):
            self._lookups.put(None)

    def _ask(self, lookup: _Lookup) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the resolver is closed")
            self._unanswered += 1
            if self._unanswered > self._threads and self._threads < self._max_threads:
                self._threads += 1
                threading.Thread(target=self._answer_lookups, name=f"resolver-{self._threads}",
                                 daemon=True).start()
        self._lookups.put(lookup)

    def _answer_lookups(self) -> None:
        while (lookup := self._lookups.get()) is not None:
            lookup.run()
            with self._lock:
                self._unanswered -= 1


@dataclass(frozen=True, slots=True)
class _Lookup:
    answer: Future[list[Any]]
    host: str
    port: int

    def run(self) -> None:
        if not self.answer.set_running_or_notify_cancel():
            return  # its fetch gave up waiting
        try:
            self.answer.set_result(socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM))
        except Exception as error:  # gaierror, or a name the IDNA codec refuses: the fetch's to report
            self.answer.set_exception(error)


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    if (seconds := whole_number(value)) is not None:
        return float(seconds)
    when = http_date(value)
    return None if when is None else max(0.0, (when - datetime.now(UTC)).total_seconds())


def validator(response: httpx.Response, name: bytes) -> str | None:
    """An ETag or Last-Modified as the server sent it, each byte one character: servers put bytes beyond
    ASCII in them (a file's name in an ETag), which go back byte for byte (``as_sent``), however httpx
    decoded the rest of the headers."""
    return next((value.decode("latin-1") for key, value in response.headers.raw if key.lower() == name), None)


def as_sent(value: str) -> str:
    """A stored validator as the request sends it (Latin-1): as it is, when ``validator`` read it; one
    stored before, as httpx decoded it, may hold any character, and goes as its UTF-8 bytes."""
    if value.isascii():
        return value
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8").decode("latin-1")
    return value


def _with_permanent(result: FetchResult, permanent: str | None) -> FetchResult:
    if permanent is None:
        return result
    return FetchResult(**{**result.__dict__, "permanent_url": _without_userinfo(permanent)})


def _without_userinfo(url: str | httpx.URL) -> str:
    """The URL without the user and password a redirect may have put in it: a fetched URL is stored,
    shown by ``feeds status``, and goes into every item's ``feed_url``, to Kafka and storage."""
    return str(httpx.URL(url).copy_with(userinfo=b""))


def fetchable(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an HTTP URL that can be fetched as written: its port in range, its host a
    name httpx can read and the system's resolver can look up (or an IP address). A URL a feed, a
    redirect or a link gave that is not raises InvalidURLError, failing that fetch instead of the poll.
    The host is the name as the request's connection will look it up (IDNA-encoded by httpx)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # a port out of range or no number, an IPv6 host's bracket left open
        raise InvalidURLError(f"unreadable URL: {str(error)[:200]}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddressError(f"refusing non-HTTP URL scheme {parts.scheme!r}")
    host = parts.hostname
    if not is_ip_literal(host):
        try:
            read = httpx.URL(url)
            read.host  # noqa: B018 - decodes its IDNA labels, as httpx does reading a redirect's Location
            host = read.raw_host.decode("ascii")
            host.encode("idna")  # as getaddrinfo encodes a name before asking DNS
        except (httpx.InvalidURL, UnicodeError) as error:
            raise InvalidURLError(f"the host name {host[:100]!r} cannot be looked up: {str(error)[:200]}") from None
    return parts.scheme, host, _port(parts.scheme, port)


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or "").lower(), _port(parts.scheme, parts.port)
    except ValueError:  # a port out of range: no origin credentials could belong to
        return None


def same_origin(first_url: str, then_url: str) -> bool:
    """Same scheme, host and port; an upgrade from http to https on the same host counts as the same. A
    URL whose port cannot be read is no one's origin."""
    first, then = _origin(first_url), _origin(then_url)
    if first is None or then is None:
        return False
    if first == then:
        return True
    return first[1] == then[1] and first[0] == "http" and then[0] == "https" and then[2] == 443 and first[2] == 80


def _port(scheme: str, port: int | None) -> int:
    return port or (443 if scheme == "https" else 80)


def _request_headers(headers: dict[str, str]) -> httpx.Headers:
    """Headers encoded as Latin-1, each character one byte, as validators are kept (``validator``): httpx's
    ASCII would refuse a validator with bytes beyond it, at every poll of the feed."""
    try:
        return httpx.Headers(headers, "latin-1")
    except UnicodeEncodeError:
        raise TransportError(_UNSENDABLE_HEADER) from None  # its message names a character of the value


_UNSENDABLE_HEADER = ("a request header HTTP cannot carry (a line break, control character or character beyond "
                      "Latin-1 in the feed's headers or credentials)")


def _safe_message(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.LocalProtocolError):
        return _UNSENDABLE_HEADER  # h11's message quotes the header's value, which may be a secret
    # httpx messages can echo the request URL, which may carry credentials in userinfo.
    text = str(error).split(" for url ", 1)[0]
    return text[:200]
