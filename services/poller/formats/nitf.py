"""NITF 3.x (News Industry Text Format): one story per document, also found inside NewsML 1 and G2."""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from schemas import Enclosure, FeedFormat, PubStatus
from services.poller.formats.base import FeedContext, InvalidDocumentError, ParsedFeed, make_raw_item
from services.poller.formats.safexml import parse_xml
from services.poller.formats.values import integer, unique_texts
from services.poller.formats.xmltree import (
    attr,
    child,
    children,
    descendant,
    descendants,
    fragment,
    inner_html,
    local_name,
    text,
)

PUBSTATUS = {"usable": PubStatus.USABLE, "withheld": PubStatus.WITHHELD, "canceled": PubStatus.CANCELED,
             "cancelled": PubStatus.CANCELED,
             # An embargoed story must not run yet; the release time travels in embargoed_until_raw.
             "embargoed": PubStatus.WITHHELD}
_SUBJECT_LABELS = ("tobject.subject.detail", "tobject.subject.matter", "tobject.subject.type",
                   "tobject.subject.refnum")


def parse_nitf(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    root = parse_xml(body)
    if local_name(root) != "nitf":
        raise InvalidDocumentError(f"NITF documents have a <nitf> root, not <{local_name(root)}>")
    fields = nitf_fields(root)
    item = make_raw_item(ctx, FeedFormat.NITF, None, original=fragment(root), **fields)
    return ParsedFeed(format=FeedFormat.NITF, items=[item])


def nitf_fields(root: etree._Element) -> dict[str, Any]:
    """RawItem fields from a <nitf> element; absent ones are None (make_raw_item drops them)."""
    head = child(root, "head")
    docdata = child(head, "docdata")
    body_head = child(root, "body", "body.head")
    return {
        "guid": attr(child(docdata, "doc-id"), "id-string") or attr(child(docdata, "du-key"), "key"),
        "version": integer(attr(child(docdata, "du-key"), "version")),
        "title": text(child(body_head, "hedline", "hl1")) or text(child(head, "title")),
        "summary_html": inner_html(child(body_head, "abstract")),
        "content_html": inner_html(child(root, "body", "body.content")),
        "published_raw": _date(child(docdata, "date.issue")),
        "embargoed_until_raw": _date(child(docdata, "date.release")),
        "urgency": integer(attr(child(docdata, "urgency"), "ed-urg")),
        "pubstatus": PUBSTATUS.get((attr(docdata, "management-status") or "").lower()),
        "byline": _byline(child(body_head, "byline")),
        "dateline": _dateline(child(body_head, "dateline")),
        "authors": [name for name in map(text, descendants(child(body_head, "byline"), "person")) if name],
        "providers": unique_texts([text(child(body_head, "distributor")),
                                   attr(child(docdata, "doc.copyright"), "holder")]),
        "categories": _categories(head),
        "enclosures": _media(child(root, "body", "body.content")),
        "language": attr(root, "baselang") or attr(root, "{http://www.w3.org/XML/1998/namespace}lang"),
    }


def _media(content: etree._Element | None) -> list[Enclosure]:
    """The media the body refers to by URL; a package's file names and ids ("high-tide.jpg") name
    nothing a reader could fetch, and are left out."""
    return [Enclosure(url=source, type=attr(reference, "mime-type"),
                      width=integer(attr(reference, "width")), height=integer(attr(reference, "height")))
            for reference in descendants(content, "media-reference")
            if (source := attr(reference, "source")) and "://" in source]


def _date(node: etree._Element | None) -> str | None:
    return attr(node, "norm") or text(node)


def _byline(node: etree._Element | None) -> str | None:
    """"By NAME, TITLE": the job title sits in <byttl>, run together with the name in the markup."""
    title = text(child(node, "byttl"))
    if node is None or title is None:
        return text(node)
    name = " ".join(" ".join([node.text or ""] + [
        ("" if local_name(inner) == "byttl" else text(inner) or "") + " " + (inner.tail or "")
        for inner in node
    ]).split())
    return f"{name}, {title}" if name else title


def _dateline(node: etree._Element | None) -> str | None:
    """The place: <location> when marked up, else the text without the <story.date> timestamp."""
    location = descendant(node, "location")
    if location is not None:
        return text(location)
    if node is None:
        return None
    parts = [node.text or ""] + [
        ("" if local_name(inner) == "story.date" else text(inner) or "") + (inner.tail or "")
        for inner in node
    ]
    return " ".join("".join(parts).split()) or None


def _categories(head: etree._Element | None) -> list[str]:
    return unique_texts([
        *(next((attr(subject, name) for name in _SUBJECT_LABELS if attr(subject, name)), None)
          for subject in descendants(child(head, "tobject"), "tobject.subject")),
        *(attr(keyword, "key") for keyword in children(child(head, "docdata", "key-list"), "keyword")),
    ])
