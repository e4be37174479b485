"""Feed and wire formats: detect a document's format by its content and parse it into RawItems."""

from __future__ import annotations

from collections.abc import Callable

from schemas import FeedFormat
from services.poller.formats.base import (
    FeedContext,
    FeedParseError,
    ParsedFeed,
    UnsupportedFormatError,
)
from services.poller.formats.rss_atom import parse_rss_atom

Parser = Callable[[bytes, FeedContext, "str | None"], ParsedFeed]

PARSERS: dict[FeedFormat, Parser] = {
    FeedFormat.RSS: parse_rss_atom,
    FeedFormat.ATOM: parse_rss_atom,
    FeedFormat.RDF: parse_rss_atom,
}


def detect_format(body: bytes, content_type: str | None = None) -> FeedFormat:
    """Sniff the format from the document itself; the Content-Type is only a hint."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        raise UnsupportedFormatError("JSON documents are not supported yet")
    return FeedFormat.RSS


def parse_document(
    body: bytes, ctx: FeedContext, content_type: str | None = None, fmt: FeedFormat | None = None
) -> ParsedFeed:
    fmt = fmt or detect_format(body, content_type)
    parser = PARSERS.get(fmt)
    if parser is None:
        raise UnsupportedFormatError(f"format {fmt.value} is not supported")
    return parser(body, ctx, content_type)


__all__ = ["FeedContext", "FeedParseError", "ParsedFeed", "UnsupportedFormatError", "detect_format",
           "parse_document"]
