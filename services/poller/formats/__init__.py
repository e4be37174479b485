"""Feed and wire formats: detect a document's format by its content and parse it into RawItems."""

from __future__ import annotations

from collections.abc import Callable

from schemas import FeedFormat
from services.poller.formats.base import (
    FeedContext,
    FeedParseError,
    InvalidDocumentError,
    ParsedFeed,
    UnsupportedFormatError,
)
from services.poller.formats.detect import detect_format
from services.poller.formats.jsonfeed import parse_json_feed
from services.poller.formats.newsml1 import parse_newsml1
from services.poller.formats.newsml_g2 import parse_newsml_g2
from services.poller.formats.ninjs import parse_ninjs
from services.poller.formats.nitf import parse_nitf
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
}


def parse_document(
    body: bytes, ctx: FeedContext, content_type: str | None = None, fmt: FeedFormat | None = None
) -> ParsedFeed:
    """Parse with the feed's configured format, or the one detected; errors are FeedParseErrors."""
    fmt = fmt or detect_format(body, content_type)
    parser = PARSERS.get(fmt)
    if parser is None:
        raise UnsupportedFormatError(f"format {fmt.value} is not supported")
    return parser(body, ctx, content_type)


__all__ = ["FeedContext", "FeedParseError", "InvalidDocumentError", "MalformedXMLError", "ParsedFeed",
           "UnsafeXMLError", "UnsupportedFormatError", "XMLTooDeepError", "detect_format", "parse_document"]
