"""HTTP fetching for feeds: conditional GET, bounded bodies, redirects checked hop by hop.

Every hop's host is resolved and refused when it points at a loopback, private, link-local or
metadata address (unless private networks are allowed), so a feed cannot steer the poller inside
the network. Secrets in request headers are never copied into errors or logs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

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


class TooManyRedirectsError(FetchError):
    kind = "redirect_loop"


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
    def __init__(self, limits: FetchLimits, proxy: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.limits = limits
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            proxy=proxy,
            transport=transport,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    headers: dict[str, str] | None = None) -> FetchResult:
        request_headers = {"Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                                     "application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
        request_headers.update(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        try:
            return await asyncio.wait_for(self._follow(url, request_headers), self.limits.total_timeout)
        except TimeoutError as error:
            raise FetchTimeoutError(f"no complete answer within {self.limits.total_timeout:g}s") from error

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        permanent: str | None = None
        chain_permanent = True
        for _ in range(MAX_REDIRECTS + 1):
            await self._check_target(url)
            result = await self._get(url, headers)
            if result.status not in REDIRECT_STATUSES:
                return _with_permanent(result, permanent)
            location = result.headers.get("location")
            if not location:
                raise HTTPStatusError(result.status)
            chain_permanent = chain_permanent and result.status in PERMANENT_REDIRECTS
            url = urljoin(url, location)
            permanent = url if chain_permanent else None
        raise TooManyRedirectsError(f"more than {MAX_REDIRECTS} redirects")

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                body = b"" if response.status_code in REDIRECT_STATUSES or response.status_code == 304 \
                    else await self._read_bounded(response)
        except httpx.TimeoutException as error:
            raise FetchTimeoutError(f"{type(error).__name__} while fetching") from error
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {_safe_message(error)}") from error
        answer = FetchResult(
            status=response.status_code,
            final_url=str(response.url),
            body=body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_type=response.headers.get("content-type"),
            headers={k.lower(): v for k, v in response.headers.items()},
        )
        if response.status_code >= 400 and response.status_code != 410:
            raise HTTPStatusError(response.status_code, retry_after_seconds(answer.headers.get("retry-after")))
        return answer

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            raise ResponseTooLargeError(f"Content-Length {declared} exceeds {self.limits.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if response.num_bytes_downloaded > self.limits.max_body_bytes:
                raise ResponseTooLargeError(f"body exceeds {self.limits.max_body_bytes} bytes")
            if size > self.limits.max_decompressed_bytes:
                raise ResponseTooLargeError(
                    f"decompressed body exceeds {self.limits.max_decompressed_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BlockedAddressError(f"refusing non-HTTP URL scheme {parts.scheme!r}")
        if self.limits.allow_private_networks:
            return
        for address in await resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)):
            if is_private(address):
                raise BlockedAddressError(f"{parts.hostname} resolves to a non-public address {address}")


async def resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TransportError(f"cannot resolve {host}: {error.strerror}") from error
    return sorted({str(info[4][0]) for info in infos})


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _with_permanent(result: FetchResult, permanent: str | None) -> FetchResult:
    if permanent is None:
        return result
    return FetchResult(**{**result.__dict__, "permanent_url": permanent})


def _safe_message(error: httpx.HTTPError) -> str:
    # httpx messages can echo the request URL, which may carry credentials in userinfo.
    text = str(error).split(" for url ", 1)[0]
    return text[:200]
