"""Feed discovery: from a web page's URL to the feeds it announces (``wirefeed feeds discover URL``).

The page is fetched by the poller's own ``Fetcher``, so the same address rules, size caps and timeouts
apply as to feeds. Announced feeds (``<link rel="alternate" type="application/rss+xml" …>`` and the
Atom, JSON Feed and JSON types) come first, in page order; then ordinary ``<a href>`` links that look
like feeds (``/feed``, ``rss.xml``, ``*.atom``, FeedBurner …), not social networks' share links. A URL
that is already a feed is itself the answer.

Only URLs a feeds file takes and the poller can fetch are listed (http or https, a host, a port, no
password), each once, as the feeds file would hold it; the page's other feed links (``http://``, a port
out of range, ``javascript:``) are kept apart, to be mentioned, never offered as feeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlsplit

import lxml.html
from lxml import etree
from pydantic import ValidationError

from services.poller.feeds import FeedConfig
from services.poller.fetch import Fetcher, HTTPStatusError
from services.poller.formats import FeedParseError, detect_format
from services.poller.formats.values import join_url

FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
    "application/rdf+xml", "application/x-rss+xml",
})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_HOSTS = frozenset({"feeds.feedburner.com", "feedproxy.google.com", "feedpress.me", "feeds.feedblitz.com"})
# Social networks' share links look like feeds ("facebook.com/dialog/feed?link=…") and never are.
SHARE_DOMAINS = ("facebook.com", "twitter.com", "x.com", "linkedin.com", "pinterest.com", "vk.com")
# The last path segment of a link that is most likely a feed, e.g. /feed, /rss.xml, index.rdf, x.atom.
_FEED_SEGMENT = re.compile(
    r"^(?:(?:feed|rss|rss2|atom|index)(?:\.(?:xml|rss|atom|rdf|json))?|[^/]+\.(?:rss|atom|rdf))$")


@dataclass(frozen=True)
class Discovery:
    """What a URL offers: the feeds to poll, and the feed links on it that no poller could fetch."""

    feeds: list[str]
    unfetchable: list[str] = field(default_factory=list)
    content_type: str | None = None
    page: bool = True  # False: neither a feed nor an HTML page (an image, a PDF)


def feed_links(html: bytes, page_url: str) -> list[str]:
    """Pure: the fetchable feed URLs a page announces or links to, first occurrence first."""
    return _feed_links(html, page_url)[0]


def fetchable_url(url: str) -> str:
    """``url`` as a feeds file holds it (its fragment, which never reaches a server, left out), when the
    poller can fetch it over HTTP; ValueError saying why not."""
    try:
        url = urldefrag(url).url
        parts = urlsplit(url)
    except ValueError as error:  # "http://[::1"
        raise ValueError(f"unreadable URL: {error}") from error
    if parts.scheme not in ("http", "https"):
        raise ValueError("not an http:// or https:// URL")
    if not parts.hostname:  # "http:///rss.xml", which the URL standard reads as the host "rss.xml"
        raise ValueError("no host")
    try:
        return str(FeedConfig(id="discovered", url=url).url)  # the feeds file's own rules
    except ValidationError as error:
        raise ValueError(error.errors()[0]["msg"].removeprefix("Value error, ")) from error


async def discover(url: str, fetcher: Fetcher) -> Discovery:
    result = await fetcher.fetch(url)
    if result.status != 200:
        raise HTTPStatusError(result.status)
    if _is_feed(result.body, result.content_type):
        return Discovery([_fetchable(result.final_url) or result.final_url], content_type=result.content_type)
    feeds, unfetchable = _feed_links(result.body, result.final_url)
    return Discovery(feeds, unfetchable, result.content_type, _is_html(result.body, result.content_type))


def _feed_links(html: bytes, page_url: str) -> tuple[list[str], list[str]]:
    """The fetchable feed URLs a page announces or links to, and its feed links that are not fetchable
    (as written), each once."""
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # empty or not HTML at all
        return [], []
    base = join_url(page_url, _base_href(document) or "") or page_url

    def absolute(href: str) -> str | None:  # None: a link urllib cannot read
        return join_url(base, _unfeed(href))

    announced = [link.get("href", "").strip() for link in document.iter("link") if _announces_feed(link)]
    hrefs = [a.get("href", "").strip() for a in document.iter("a")]
    linked = [href for href in hrefs if _looks_like_feed(absolute(href))]
    page = _fetchable(page_url)
    found: dict[str, None] = {}
    unfetchable: dict[str, None] = {}  # as written
    for href in announced + linked:
        url = absolute(href)
        fetchable = _fetchable(url) if url is not None else None
        if fetchable is None:
            unfetchable.setdefault(href, None)
        elif fetchable != page:  # "#", "": the page itself, which is no feed
            found.setdefault(fetchable, None)
    return list(found), list(unfetchable)


def _fetchable(url: str) -> str | None:
    try:
        return fetchable_url(url)
    except ValueError:
        return None


def _unfeed(href: str) -> str:
    """A ``feed:`` URI (an old convention for subscribe links: feed://host/x, feed:https://host/x) as the
    http(s) URL it stands for; any other link as it is."""
    if href[:5].lower() != "feed:":
        return href
    rest = href[5:]
    return rest if rest.lower().startswith(("http://", "https://")) else f"http:{rest}"


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


def _is_html(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in HTML_TYPES if media_type else body.lstrip()[:1] == b"<"


def _is_feed(body: bytes, content_type: str | None) -> bool:
    try:
        detect_format(body, content_type)
    except FeedParseError:
        return False
    return True
