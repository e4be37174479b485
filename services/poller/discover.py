"""Feed discovery: from a web page's URL to the feeds it announces (``wirefeed feeds discover URL``).

The page is fetched by the poller's own ``Fetcher``, so the same address rules, size caps and timeouts
apply as to feeds. Announced feeds (``<link rel="alternate" type="application/rss+xml" …>`` and the
Atom, JSON Feed and JSON types) come first, in page order; then ordinary ``<a href>`` links that look
like feeds (``/feed``, ``rss.xml``, ``*.atom``, FeedBurner …), not social networks' share links. A URL
that is already a feed is itself the answer.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from services.poller.fetch import Fetcher, HTTPStatusError
from services.poller.formats import FeedParseError, detect_format
from services.poller.formats.values import join_url

FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
    "application/rdf+xml", "application/x-rss+xml",
})
FEED_HOSTS = frozenset({"feeds.feedburner.com", "feedproxy.google.com", "feedpress.me", "feeds.feedblitz.com"})
# Social networks' share links look like feeds ("facebook.com/dialog/feed?link=…") and never are.
SHARE_DOMAINS = ("facebook.com", "twitter.com", "x.com", "linkedin.com", "pinterest.com", "vk.com")
# The last path segment of a link that is most likely a feed, e.g. /feed, /rss.xml, index.rdf, x.atom.
_FEED_SEGMENT = re.compile(
    r"^(?:(?:feed|rss|rss2|atom|index)(?:\.(?:xml|rss|atom|rdf|json))?|[^/]+\.(?:rss|atom|rdf))$")


def feed_links(html: bytes, base_url: str) -> list[str]:
    """Pure: feed URLs a page announces or links to, absolute, first occurrence first."""
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # empty or not HTML at all
        return []
    base = join_url(base_url, _base_href(document) or "") or base_url
    announced = [link.get("href", "") for link in document.iter("link") if _announces_feed(link)]
    linked = [a.get("href", "") for a in document.iter("a") if _looks_like_feed(join_url(base, a.get("href", "")))]
    found: dict[str, None] = {}
    for href in announced + linked:
        url = join_url(base, href.strip())  # None: a link urllib cannot read, skipped
        if href.strip() and url and urlsplit(url).scheme in ("http", "https"):
            found.setdefault(url, None)
    return list(found)


async def discover(url: str, fetcher: Fetcher) -> list[str]:
    result = await fetcher.fetch(url)
    if result.status != 200:
        raise HTTPStatusError(result.status)
    if _is_feed(result.body, result.content_type):
        return [result.final_url]
    return feed_links(result.body, result.final_url)


def _announces_feed(link: etree._Element) -> bool:
    rels = (link.get("rel") or "").lower().split()
    media_type = (link.get("type") or "").split(";", 1)[0].strip().lower()
    return "alternate" in rels and media_type in FEED_TYPES and bool(link.get("href"))


def _looks_like_feed(url: str | None) -> bool:
    if url is None:
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or any(host == d or host.endswith(f".{d}") for d in SHARE_DOMAINS):
        return False
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1].lower()
    return host in FEED_HOSTS or bool(_FEED_SEGMENT.match(segment))


def _base_href(document: etree._Element) -> str | None:
    base = document.find(".//base[@href]")
    return None if base is None else str(base.get("href"))


def _is_feed(body: bytes, content_type: str | None) -> bool:
    try:
        detect_format(body, content_type)
    except FeedParseError:
        return False
    return True
