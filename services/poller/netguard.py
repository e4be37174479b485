"""Connect-time address checks: the poller connects only to addresses it has just checked.

Checking a host's addresses before the request is not enough: a hostile DNS server can answer with a
public address for the check and a private one a moment later, when the HTTP client resolves the name
again to connect (DNS rebinding). This network backend resolves the name itself, refuses it when any
answer is not allowed, and then connects to one of the very addresses it checked. The URL keeps its
host name, so the ``Host`` header, TLS SNI and certificate verification still use the name.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

#: Resolves a host name to its addresses (as text); raises to refuse or on failure.
Resolver = Callable[[str, int], Awaitable[list[str]]]
#: Called with the host and the addresses about to be used; raises to refuse the connection.
AddressCheck = Callable[[str, list[str]], None]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, and connects to the checked address."""

    def __init__(self, resolver: Resolver, check: AddressCheck,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.resolver = resolver
        self.check = check
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = [host.strip("[]")] if is_ip_literal(host) else await self.resolver(host, port)
        self.check(host, addresses)
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:  # the first that answers, like a plain client, but only checked ones
            try:
                return await self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(resolver: Resolver, check: AddressCheck, *, limits: httpx.Limits,
                      ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (request/response mapping, error translation) over the guarded backend."""
    verify: ssl.SSLContext | bool = ssl_context or True
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits, trust_env=False)
    # httpx 0.28 has no public way to pass a network backend; the pool it builds is swapped for an
    # identical one that uses ours (tests/unit/test_fetch_netguard.py fails if this stops working).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(resolver, check),
    )
    return transport


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True
