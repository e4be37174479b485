"""Recognizing a document's format from its content; the Content-Type header is often wrong for wire feeds."""

from __future__ import annotations

import re
from typing import Any

from schemas import FeedFormat
from services.poller.formats.anpa import START as ANPA_START
from services.poller.formats.base import InvalidDocumentError, UnsupportedFormatError
from services.poller.formats.iptc7901 import START as IPTC_7901_START
from services.poller.formats.jsonfeed import is_json_feed
from services.poller.formats.ninjs import unwrap_ninjs
from services.poller.formats.rfc822 import is_email
from services.poller.formats.safexml import SNIFF_BYTES, decode_for_sniffing
from services.poller.formats.values import load_json

NAR_NAMESPACE = "http://iptc.org/std/nar/2006-10-01/"
# Roots of NewsML-G2 documents: items we read, and the others (concepts, catalogs, planning), which
# parse to no news items rather than fail.
NEWSML_G2_ROOTS = frozenset({
    "newsMessage", "newsItem", "packageItem", "planningItem", "conceptItem", "knowledgeItem",
    "catalogItem", "catalog", "conceptSet",
})
_FEEDPARSER_ROOTS = {"rss": FeedFormat.RSS, "rdf": FeedFormat.RDF, "feed": FeedFormat.ATOM, "entry": FeedFormat.ATOM,
                     "channel": FeedFormat.RSS}  # <channel> roots: RSS 0.9x fragments and CDF
_ROOT = re.compile(r"\s*<\s*([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_SKIPPED = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>)", re.DOTALL | re.IGNORECASE)


def detect_format(body: bytes, content_type: str | None = None) -> FeedFormat:
    """Sniff the format from the document itself; the Content-Type is only a hint."""
    return detect(body, content_type)[0]


def detect(body: bytes, content_type: str | None = None) -> tuple[FeedFormat, Any]:
    """The format, and for a JSON format the document as loaded to tell it (``values.load_json``), so
    that it is parsed once."""
    if body.startswith(ANPA_START):
        return FeedFormat.ANPA_1312, None
    if body.startswith(IPTC_7901_START):
        return FeedFormat.IPTC_7901, None
    text = decode_for_sniffing(body, SNIFF_BYTES).lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        document = _loaded(body)
        return json_format(document), document
    if text.startswith("<"):
        return _xml_format(text), None
    if is_email(body):
        return FeedFormat.EMAIL, None
    raise UnsupportedFormatError("neither XML, JSON, e-mail nor a wire text format "
                                 f"(content type {content_type or 'unknown'})")


def _loaded(body: bytes) -> Any:
    try:
        return load_json(body)
    except InvalidDocumentError as exc:
        raise UnsupportedFormatError(f"looks like JSON but does not parse: {exc.__cause__ or exc}") from exc


def json_format(document: Any) -> FeedFormat:
    if is_json_feed(document):
        return FeedFormat.JSON_FEED
    if unwrap_ninjs(document) is not None:
        return FeedFormat.NINJS
    raise UnsupportedFormatError("JSON, but neither a JSON Feed nor ninjs")


def _xml_format(text: str) -> FeedFormat:
    pos = 0
    while match := _SKIPPED.match(text, pos):
        pos = match.end()
    root = _ROOT.match(text, pos)
    if root is None:
        raise UnsupportedFormatError("XML without a recognizable root element")
    name = root.group(2)
    if name in NEWSML_G2_ROOTS and NAR_NAMESPACE in text[pos:pos + 2048]:
        return FeedFormat.NEWSML_G2
    if name == "nitf":
        return FeedFormat.NITF
    if name == "NewsML":
        return FeedFormat.NEWSML_1
    fmt = _FEEDPARSER_ROOTS.get(name.lower())
    if fmt is None:
        raise UnsupportedFormatError(f"XML root element <{name}> is not a feed or wire format wirefeed reads")
    return fmt
