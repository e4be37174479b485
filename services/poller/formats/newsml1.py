"""IPTC NewsML 1.x (AFP, ANA-MPA, Business Wire): NewsML > NewsItem > NewsComponent trees.

A NewsItem's parts sit in nested NewsComponents told apart by Role (Main, Body, HeadLine, Contact,
Photo, ...); the body is the first text ContentItem of a body-like component.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from schemas import FeedFormat, RawItem
from services.poller.formats.base import FeedContext, InvalidDocumentError, ParsedFeed, make_raw_item
from services.poller.formats.newsml1_content import body_html, media, subheadline_html
from services.poller.formats.nitf import PUBSTATUS
from services.poller.formats.safexml import parse_xml
from services.poller.formats.values import integer, text_as_html, unique_texts
from services.poller.formats.xmltree import (
    attr,
    child,
    children,
    descendant,
    descendants,
    fragment,
    local_name,
    text,
)

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse_newsml1(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    root = parse_xml(body)
    if local_name(root) != "NewsML":
        raise InvalidDocumentError(f"NewsML 1 documents have a <NewsML> root, not <{local_name(root)}>")
    return ParsedFeed(format=FeedFormat.NEWSML_1, items=[_item(i, ctx) for i in children(root, "NewsItem")])


def _item(item: etree._Element, ctx: FeedContext) -> RawItem:
    identifier = child(item, "Identification", "NewsIdentifier")
    if identifier is None:
        raise InvalidDocumentError("NewsItem without Identification/NewsIdentifier")
    management = child(item, "NewsManagement")
    status = attr(child(management, "Status"), "FormalName") or ""
    fields: dict[str, Any] = {
        "guid": text(child(identifier, "PublicIdentifier")) or _urn(identifier),
        "version": integer(text(child(identifier, "RevisionId"))),
        "title": text(descendant(item, "HeadLine")),
        "summary_html": text_as_html(text(descendant(item, "SubHeadLine"))) or subheadline_html(item),
        "content_html": body_html(item),
        "published_raw": text(child(management, "FirstCreated")),
        "updated_raw": text(child(management, "ThisRevisionCreated")),
        "pubstatus": PUBSTATUS.get(status.lower()),
        "embargoed_until_raw": text(child(management, "StatusWillChange", "DateAndTime")),
        "urgency": integer(attr(child(management, "Urgency"), "FormalName")),
        "byline": text(descendant(item, "ByLine")),
        "dateline": text(descendant(item, "DateLine")),
        "slugline": text(descendant(item, "SlugLine")),
        "authors": _creators(item),
        "providers": _providers(item, identifier),
        "categories": _categories(item),
        "language": attr(descendant(item, "Language"), "FormalName") or attr(item, XML_LANG),
        "enclosures": media(item),
    }
    return make_raw_item(ctx, FeedFormat.NEWSML_1, None, original=fragment(item), **fields)


def _urn(identifier: etree._Element) -> str | None:
    parts = [text(child(identifier, name)) for name in ("ProviderId", "DateId", "NewsItemId")]
    if not all(parts):
        return None
    return "urn:newsml:" + ":".join(str(part) for part in parts)


def _creators(item: etree._Element) -> list[str]:
    names = (attr(party, "FormalName") for creator in descendants(item, "Creator")
             for party in children(creator, "Party"))
    return [name for name in names if name]


def _providers(item: etree._Element, identifier: etree._Element) -> list[str]:
    """The parties named as Source and Provider, the copyright holder, then the provider's id ("afp.com")."""
    parties = [attr(party, "FormalName") for role in ("Source", "Provider") for node in descendants(item, role)
               for party in children(node, "Party")]
    return unique_texts([*parties, text(descendant(item, "CopyrightHolder")), text(child(identifier, "ProviderId"))])


def _categories(item: etree._Element) -> list[str]:
    return unique_texts([
        *(attr(e, "FormalName") for code in descendants(item, "SubjectCode") for e in code),
        *(attr(prop, "Value") for prop in descendants(item, "Property") if attr(prop, "FormalName") == "Keyword"),
    ])
