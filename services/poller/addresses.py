"""Which addresses the poller reaches: public ones, and of the non-public ones (loopback, private,
link-local, metadata, and the IPv6 forms around them) only those in the networks a feed is allowed, its
``private_networks`` (all of them with WIREFEED_ALLOW_PRIVATE_NETWORKS). ``fetch.py`` checks every
request's addresses against these rules, before the request and at connect time (``netguard.py``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

#: A network of addresses, IPv4 or IPv6: what a feed's ``private_networks`` lists.
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_blocked(address: str, allowed: Collection[IPNetwork] = ()) -> bool:
    """Whether the poller refuses to reach ``address``: a non-public one, unless it is in one of the
    ``allowed`` networks. The address itself must be: an IPv6 form around an allowed IPv4 address
    (``::ffff:10.1.2.3``, NAT64) is allowed only when its own IPv6 network is listed."""
    if not is_private(address):
        return False
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not any(ip in network for network in allowed)


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in _LOCAL_NAT64:
        return True
    return any(not reached.is_global or reached.is_multicast or any(reached in net for net in _GLOBAL_BUT_INSIDE)
               for reached in (ip, *_embedded_ipv4(ip)))


# RFC 8215's NAT64 prefix for a network's own translators, which reach its private IPv4 addresses.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# Addresses ``ipaddress`` counts as global that lead inside all the same: IPv6 site-local addresses
# (fec0::/10, deprecated by RFC 3879 but still routed within some sites), and Azure's WireServer
# (168.63.129.16, the platform endpoint every VM reaches: its agent, health probes and DNS, like a
# metadata address).
_GLOBAL_BUT_INSIDE = tuple(map(ipaddress.ip_network, ("fec0::/10", "168.63.129.16/32")))
# IPv6 forms that carry an IPv4 address in their last 32 bits, which a translator or tunnel on the way
# (NAT64 with DNS64, SIIT, an old automatic tunnel) connects to: "64:ff9b::a00:1" is 10.0.0.1.
_IPV4_IN_LAST_32_BITS = tuple(map(ipaddress.ip_network, ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96")))


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a connection to ``ip`` may end at, besides ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    embedded = [found for found in (ip.ipv4_mapped, ip.sixtofour) if found is not None]
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


