"""Feed and wire formats: detect a document's format by its content and parse it into RawItems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import FeedFormat
from services.poller.formats.anpa import parse_anpa
from services.poller.formats.base import (
    FeedContext,
    FeedParseError,
    InvalidDocumentError,
    ParsedFeed,
    UnsupportedFormatError,
)
from services.poller.formats.detect import detect, detect_format
from services.poller.formats.iptc7901 import parse_iptc7901
from services.poller.formats.jsonfeed import parse_json_feed, read_json_feed
from services.poller.formats.newsml1 import parse_newsml1
from services.poller.formats.newsml_g2 import parse_newsml_g2
from services.poller.formats.ninjs import parse_ninjs, read_ninjs
from services.poller.formats.nitf import parse_nitf
from services.poller.formats.rfc822 import parse_email
from services.poller.formats.rss_atom import parse_rss_atom
from services.poller.formats.safexml import MalformedXMLError, UnsafeXMLError, XMLTooDeepError

Parser = Callable[[bytes, FeedContext, "str | None"], ParsedFeed]

PARSERS: dict[FeedFormat, Parser] = {
    FeedFormat.RSS: parse_rss_atom,
    FeedFormat.ATOM: parse_rss_atom,
    FeedFormat.RDF: parse_rss_atom,
    FeedFormat.JSON_FEED: parse_json_feed,
    FeedFormat.NINJS: parse_ninjs,
    FeedFormat.NEWSML_G2: parse_newsml_g2,
    FeedFormat.NITF: parse_nitf,
    FeedFormat.NEWSML_1: parse_newsml1,
    FeedFormat.ANPA_1312: parse_anpa,
    FeedFormat.IPTC_7901: parse_iptc7901,
    FeedFormat.EMAIL: parse_email,
}
# The JSON formats' readers of a document already loaded.
JSON_READERS: dict[FeedFormat, Callable[[Any, FeedContext], ParsedFeed]] = {
    FeedFormat.JSON_FEED: read_json_feed, FeedFormat.NINJS: read_ninjs,
}


#: A document claiming more items than this is refused before parsing: parse time and memory grow with
#: the item count, and no real feed or wire batch needs more in one document.
MAX_ITEMS_PER_DOCUMENT = 10_000
# Opening tags of an item in each XML family; counted on the raw bytes, which costs a pass each.
_ITEM_TAGS = (b"<item", b"<entry", b"<newsItem", b"<NewsItem", b"<nitf", b":item", b":entry")


class TooManyItemsError(FeedParseError):
    """The document holds more items than one poll may publish."""


def parse_document(
    body: bytes, ctx: FeedContext, content_type: str | None = None, fmt: FeedFormat | None = None,
    max_items: int = MAX_ITEMS_PER_DOCUMENT,
) -> ParsedFeed:
    """Parse with the feed's configured format, or the one detected; errors are FeedParseErrors."""
    document = None
    if fmt is None:
        fmt, document = detect(body, content_type)
    parser = PARSERS.get(fmt)
    if parser is None:
        raise UnsupportedFormatError(f"format {fmt.value} is not supported")
    # Every tag starts with "<": one count (none for a document shorter than the limit) rules out most
    # documents before the per-tag counts.
    if len(body) > max_items and body.count(b"<") > max_items:
        _check_item_count(sum(body.count(tag) for tag in _ITEM_TAGS), max_items)
    try:
        # A JSON document loaded to tell its format is read as loaded, not parsed again.
        parsed = parser(body, ctx, content_type) if document is None else JSON_READERS[fmt](document, ctx)
    except FeedParseError:
        raise
    except Exception as error:
        # The parsers read untrusted bytes; anything else they raise is still this document's failure (or
        # a bug it exposes), and must reach the poller as one: a parse error, backed off and counted.
        raise FeedParseError(f"{fmt.value} document could not be read: {type(error).__name__}: {error}") from error
    _check_item_count(len(parsed.items), max_items)  # JSON formats are only counted once parsed
    return parsed


def _check_item_count(count: int, max_items: int) -> None:
    if count > max_items:
        raise TooManyItemsError(f"document holds about {count} items, more than the limit of {max_items}")


__all__ = ["FeedContext", "FeedParseError", "InvalidDocumentError", "MalformedXMLError", "ParsedFeed",
           "TooManyItemsError", "UnsafeXMLError", "UnsupportedFormatError", "XMLTooDeepError", "detect_format",
           "parse_document"]
