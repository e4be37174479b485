"""RSS 0.9x/1.0 (RDF)/2.0 and Atom 0.3/1.0: plain feeds read fast on lxml, the rest by feedparser.

feedparser is the reference: rss_fast reads only what it models exactly, and declines everything else.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import feedparser
import structlog

from schemas import FeedFormat, RawItem
from services.core.numbers import whole_number
from services.poller.formats.base import FeedContext, FeedParseError, ParsedFeed, make_raw_item, raw_item
from services.poller.formats.charsets import as_utf8_if_legacy
from services.poller.formats.feedparser_fixes import failed_elements, mend_feedparser
from services.poller.formats.feedparser_input import check_feedparser_input
from services.poller.formats.media_rss import (
    ENTRY_KEY,
    fallback_summary,
    keep_captions_apart_in_feedparser,
    media_enclosures,
)
from services.poller.formats.rss_fast import PlainFeed, parse_plain_feed
from services.poller.formats.safexml import check_depth, reject_entity_declarations, thread_strict_parser
from services.poller.formats.second_summary import feedparser_content, keep_second_summaries_apart_in_feedparser
from services.poller.formats.tags import count_tags_in_feedparser
from services.poller.formats.values import author_name, join_url
from services.poller.formats.xmltree import fragment, item_fragments
from services.poller.metrics import FEED_ELEMENTS_DROPPED

log = structlog.get_logger(__name__)

# The characters \s matches (str.isspace; none lies above U+3000), spelled out: the regex engine tests a
# class of literals against a bitmap, but calls a function per character for \s, which made the check
# below twice as slow on a long URL.
WHITESPACE = re.escape("".join(c for c in map(chr, range(0x3001)) if c.isspace()))
# An absolute http(s) URL with a host and no empty query, empty fragment or path parameters.
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[^/{WHITESPACE};?#\[\]]+(/[^{WHITESPACE};?#]*)?(\?[^{WHITESPACE};#]+)?(#[^{WHITESPACE}]+)?")

# feedparser is not asked to sanitise HTML: the normalizer sanitises every body explicitly with nh3 (an
# allowlist), and feedparser's own pass cost about a tenth of its parse time. It is not told the feed's
# URL: it would resolve ids against it too, turning a guid "t3_x" into "http://host/t3_x". Links are
# resolved here instead (xml:base declared in the feed is still honoured by feedparser).

keep_captions_apart_in_feedparser()
keep_second_summaries_apart_in_feedparser()
count_tags_in_feedparser()
mend_feedparser()
check_feedparser_input()


def parse_rss_atom(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    body = prepared(body, content_type)
    plain = parse_plain_feed(body, content_type, thread_strict_parser())
    if plain is not None:
        return _plain_feed(plain, ctx)
    return parse_reference(body, ctx, content_type)


def prepared(body: bytes, content_type: str | None) -> bytes:
    """The document as both readings take it: entity declarations refused (feedparser runs its own SAX
    parser, which would expand them), whitespace before the XML declaration dropped (a CMS template's
    stray newline makes the document ill-formed, and feedparser's loose reading then loses categories and
    entities), legacy encodings detected and made UTF-8."""
    reject_entity_declarations(body)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        body = body.lstrip()
    return as_utf8_if_legacy(body, content_type)


def parse_reference(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    """feedparser's reading: every RSS and Atom version, and ill-formed documents, leniently."""
    originals = item_fragments(check_depth(body))
    headers = {"content-type": content_type} if content_type else {}
    with failed_elements() as failed:
        parsed = _feedparser(body, headers)
    if failed:
        _report_dropped(ctx, failed)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS, RDF or Atom root element"
        raise FeedParseError(f"not an RSS or Atom feed: {reason}")
    return _parsed_feed(parsed, ctx, originals)


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    # A stream, never the bytes: feedparser.parse tries a bytes or str argument as a local file name
    # first, so a body "/dev/zero" or "/etc/app/feed.xml" from a hostile server was read from disk.
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                                resolve_relative_uris=False)
    except (UnicodeError, ValueError):
        # feedparser decodes with the HTTP charset first and passes over only decoding and lookup errors:
        # Python's "undefined" codec (servers send "charset=undefined" when a variable was unset) raises
        # UnicodeError, a name with a NUL ValueError. Read again without it, by the document's own.
        if not headers:
            raise
        return _feedparser(body, {})


def _report_dropped(ctx: FeedContext, failed: list[str]) -> None:
    """An element feedparser could not place is left out of the feed; ops learn which, and where."""
    FEED_ELEMENTS_DROPPED.labels(feed=ctx.feed_id).inc(len(failed))
    log.warning("feed_elements_dropped", feed=ctx.feed_id, elements=sorted(set(failed))[:20], count=len(failed))


def _parsed_feed(parsed: Any, ctx: FeedContext, originals: list[str | None]) -> ParsedFeed:
    fmt = _format_of(parsed.get("version") or "")
    feed = parsed.feed
    title = _text(feed.get("title"))
    # Fragments pair with entries only when both parsers saw the same items (ill-formed feeds may differ).
    if len(originals) != len(parsed.entries):
        originals = [None] * len(parsed.entries)
    language = _text(feed.get("language"))
    # dict.get: feedparser's get("updated") falls back to the published date
    dates = _feed_dates(dict.get(feed, "published"), dict.get(feed, "updated"))
    items = [_item(entry, ctx, fmt, title, original=original, feed_language=language, feed_dates=dates)
             for entry, original in zip(parsed.entries, originals, strict=True)]
    return ParsedFeed(
        format=fmt,
        title=title,
        items=items,
        ttl_seconds=_ttl(feed.get("ttl")),
        next_page_url=_link(feed, "next", ctx.feed_url),
        hub_url=_link(feed, "hub", ctx.feed_url),
        self_url=_link(feed, "self", ctx.feed_url),
    )


def _plain_feed(plain: PlainFeed, ctx: FeedContext) -> ParsedFeed:
    """The ParsedFeed of rss_fast's reading, which has each item's fields ready but for resolving links."""
    fmt = _format_of(plain.version)
    title = _text(plain.title)
    base = ctx.feed_url
    language = _text(plain.language)
    dates = _feed_dates(plain.dates.get("published"), plain.dates.get("updated"))
    items = [_plain_item(fields, ctx, fmt, title, original=fragment(element), feed_language=language,
                         feed_dates=dates)
             for fields, element in zip(plain.items, plain.elements, strict=True)]
    links = plain.links
    return ParsedFeed(
        format=fmt,
        title=title,
        items=items,
        ttl_seconds=_ttl(plain.ttl),
        next_page_url=_absolute(links.get("next"), base),
        hub_url=_absolute(links.get("hub"), base),
        self_url=_absolute(links.get("self"), base),
    )


def _feed_dates(*dates: str | None) -> list[str]:
    """The feed's own dates, each once: they settle the zone of an item's date written without one."""
    return list(dict.fromkeys(date for date in map(_text, dates) if date))


def _plain_item(values: dict[str, Any], ctx: FeedContext, fmt: FeedFormat, feed_title: str | None, *,
                original: str, feed_language: str | None, feed_dates: list[str]) -> RawItem:
    base = ctx.feed_url
    fields = dict(values, original=original)
    if feed_language is not None:
        fields["feed_language"] = feed_language
    if feed_dates:
        fields["feed_dates_raw"] = feed_dates
    link = _absolute(_text(fields.pop("link", None)), base)
    if link is not None:
        fields["link"] = link
    if "canonical_link" in fields:
        fields["canonical_link"] = _absolute(fields["canonical_link"], base)
    if "enclosures" in fields:
        fields["enclosures"] = _enclosures(fields["enclosures"], base)
    return raw_item(ctx, fmt, feed_title, fields)


def _format_of(version: str) -> FeedFormat:
    if version.startswith("atom"):
        return FeedFormat.ATOM
    if version in ("rss090", "rss10"):
        return FeedFormat.RDF
    return FeedFormat.RSS


def _item(entry: Any, ctx: FeedContext, fmt: FeedFormat, feed_title: str | None, *, original: str | None,
          feed_language: str | None, feed_dates: list[str]) -> RawItem:
    summary = _text(entry.get("summary"))
    content_html = feedparser_content(entry, summary)
    summary_html = fallback_summary(summary, content_html, entry.get(ENTRY_KEY))
    return make_raw_item(
        ctx,
        fmt,
        feed_title,
        guid=_text(entry.get("id")),
        link=_absolute(_text(entry.get("link")), ctx.feed_url),
        canonical_link=_link(entry, "canonical", ctx.feed_url),
        title=_text(entry.get("title")),
        summary_html=summary_html,
        content_html=content_html,
        published_raw=_text(entry.get("published") or entry.get("created")),
        # Not feedparser's entry.get("updated"): it maps a missing updated date to the published one.
        updated_raw=_text(dict.get(entry, "updated") if isinstance(entry, dict) else entry.get("updated")),
        authors=_author_names(entry),
        categories=[t["term"] for t in entry.get("tags", []) if isinstance(t, dict) and t.get("term")],
        language=_text((entry.get("title_detail") or {}).get("language")),
        feed_language=feed_language,
        feed_dates_raw=feed_dates,
        enclosures=_enclosures([e for e in entry.get("enclosures", []) if e.get("href")]
                               + media_enclosures(entry.get("media_content") or [], entry.get("media_thumbnail") or []),
                               ctx.feed_url),
        providers=_providers(entry),
        original=original,
    )


def _providers(entry: Any) -> list[str]:
    """The name of the feed an aggregated item came from: RSS's source (Google News names the publisher
    there), Atom's source title."""
    source = entry.get("source")
    name = _text(source.get("title")) if isinstance(source, dict) else None
    return [name] if name else []


def _author_names(entry: Any) -> list[str]:
    """Names of the entry's authors. feedparser cuts an RSS author's e-mail address out of the name with a
    pattern that knows only 2-4 letter domains; where there is one such author, its field is read again."""
    details = [a for a in entry.get("authors", []) if isinstance(a, dict)]
    raw = entry.get("author")
    if len(details) == 1 and details[0].get("email") and isinstance(raw, str):
        name, email = details[0].get("name"), details[0]["email"]
        if raw in (f"{name} ({email})", email):
            return [name] if name else []  # an Atom author: the name is given apart, whatever the e-mail holds
        return [read] if (read := author_name(raw)) else []
    return [a["name"] for a in details if a.get("name")]


def _enclosures(enclosures: list[Any], base: str) -> list[dict[str, Any]]:
    """Enclosures' fields (RawItem validates them); one whose URL urllib cannot read is left out."""
    found = []
    for enclosure in enclosures:
        url = _absolute(str(enclosure["href"]), base)  # the href is not empty
        if url is None:
            continue
        found.append({"url": url, "type": enclosure.get("type"), "length": whole_number(enclosure.get("length")),
                      "width": whole_number(enclosure.get("width")), "height": whole_number(enclosure.get("height"))})
    return found


def _link(node: Any, rel: str, base: str) -> str | None:
    for link in node.get("links", []) or []:
        if link.get("rel") == rel and link.get("href"):
            return _absolute(str(link["href"]), base)
    return None


def _absolute(url: str | None, base: str) -> str | None:
    if not url:
        return None
    url = url.strip()
    # urljoin would only take such a URL apart and put it back together unchanged; skipping it is cheaper.
    # A link urllib cannot read is dropped, not the feed.
    return url if _PLAIN_ABSOLUTE.fullmatch(url) else join_url(base, url)


def _ttl(value: Any) -> float | None:
    if value is None:
        return None  # the common case, without raising and catching a TypeError
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes < math.inf else None  # float() reads "inf" and "nan" too


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
