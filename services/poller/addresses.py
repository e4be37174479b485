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
    ip = _ip(address)
    return _private_ip(ip) and not any(ip in network for network in allowed)


def is_private(address: str) -> bool:
    return _private_ip(_ip(address))


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(address.split("%", 1)[0])  # without a zone ("fe80::1%eth0")


def _private_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
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
_IPV4_IN_LAST_32_BITS = tuple(map(ipaddress.IPv6Network, ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96")))


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a connection to ``ip`` may end at, besides ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    embedded = [found for found in (ip.ipv4_mapped, ip.sixtofour) if found is not None]
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


def reaches_beyond_an_intranet(network: IPNetwork) -> list[str]:
    """What a feed allowed ``network`` could reach that no feed on your own network is served from, each said
    in a few words (none: nothing): loopback (the poller's own machine, its databases and admin ports), a
    cloud metadata address (whoever reads it gets the machine's credentials), or more than one site's
    addresses (a network wider than a /8 for IPv4, a /32 for IPv6: a slip, or a wish to reach anything). An
    IPv6 network around IPv4 addresses (``::ffff:0:0/96``, NAT64's ``64:ff9b::/96``) is judged by the IPv4
    network it carries too, as connections to it end there."""
    judged = [network, *_carried_ipv4(network)]
    found = []
    if any(each.overlaps(loopback) for each in judged for loopback in _LOOPBACK):
        found.append("loopback addresses (the poller's own machine)")
    if metadata := [str(address) for address in _METADATA if any(address in each for each in judged)]:
        found.append(f"the cloud metadata address{'es' if len(metadata) > 1 else ''} {', '.join(metadata)}")
    if any(each.prefixlen < _WIDEST_PREFIX[each.version] for each in judged):
        found.append("more addresses than any one site's (wider than a /8 for IPv4, a /32 for IPv6)")
    return found


def _carried_ipv4(network: IPNetwork) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks an IPv6 network's addresses carry, in each form that carries one."""
    if isinstance(network, ipaddress.IPv4Network):
        return []
    carried = []
    for carrier, bits_after in _IPV4_CARRIERS:
        if network.subnet_of(carrier):
            address = (int(network.network_address) >> bits_after) & 0xFFFFFFFF
            carried.append(ipaddress.IPv4Network((address, min(network.prefixlen - carrier.prefixlen, 32))))
        elif carrier.subnet_of(network):
            carried.append(ipaddress.IPv4Network("0.0.0.0/0"))
    return carried


# IPv6 forms carrying an IPv4 address, and how many bits follow it: those of ``_IPV4_IN_LAST_32_BITS``,
# IPv4-mapped addresses, and 6to4's.
_IPV4_CARRIERS = (*((network, 0) for network in _IPV4_IN_LAST_32_BITS),
                  (ipaddress.IPv6Network("::ffff:0:0/96"), 0), (ipaddress.IPv6Network("2002::/16"), 80))
# With the unspecified addresses: a connection to 0.0.0.0 or :: reaches the machine's own listening sockets.
_LOOPBACK = tuple(map(ipaddress.ip_network, ("127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128")))
# Where a cloud machine reads its credentials and user data: the metadata service of AWS, Google Cloud, Azure,
# OpenStack and most others (and AWS's IPv6 one), and Azure's WireServer.
_METADATA = tuple(map(ipaddress.ip_address, ("169.254.169.254", "fd00:ec2::254", "168.63.129.16")))
_WIDEST_PREFIX = {4: 8, 6: 32}
