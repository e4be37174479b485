"""A NewsML-G2 item's content: the body from inline XHTML, inline NITF or inline text, and remote media."""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from schemas import Enclosure
from services.poller.formats.nitf import nitf_fields
from services.poller.formats.values import integer, text_as_html, text_or_markup_as_html
from services.poller.formats.xmltree import attr, child, children, descendant, inner_html, local_name, text

_HTML_TYPES = ("text/html", "application/xhtml")
# Fields an inline NITF body may supply when the G2 metadata left them out.
_NITF_FALLBACKS = ("title", "byline", "dateline", "summary_html")


def content_fields(item: etree._Element, known: dict[str, Any]) -> dict[str, Any]:
    content_set = child(item, "contentSet")
    found: dict[str, Any] = {"summary_html": _summary(child(item, "contentMeta")), "enclosures": []}
    for node in children(content_set, "remoteContent"):
        enclosure = _enclosure(node)
        if enclosure is not None:
            found["enclosures"].append(enclosure)
    for node in content_set if content_set is not None else []:
        body = _inline_body(node, known, found)
        if body:
            found["content_html"] = body
            break
    return found


def _inline_body(node: etree._Element, known: dict[str, Any], found: dict[str, Any]) -> str | None:
    name = local_name(node)
    if name == "inlineData":
        # Declared type first, but "text/plain" that opens with a tag is HTML mislabelled (ANSA does it).
        is_html = (attr(node, "contenttype") or "").lower().startswith(_HTML_TYPES) or None
        return text_or_markup_as_html(node.text, is_html)
    if name != "inlineXML":
        return None
    markup = next((e for e in node if local_name(e)), None)
    if markup is None:
        return None
    if local_name(markup) == "nitf":
        nitf = nitf_fields(markup)
        for field in _NITF_FALLBACKS:
            if not known.get(field) and not found.get(field) and nitf.get(field):
                found[field] = nitf[field]
        body = nitf["content_html"]
        return body if isinstance(body, str) else None
    if local_name(markup) == "html":
        return inner_html(descendant(markup, "body"))
    return inner_html(node)


def _summary(content_meta: etree._Element | None) -> str | None:
    """A description with a summary role, as HTML; captions and other roles are not summaries."""
    for description in children(content_meta, "description"):
        role = attr(description, "role") or ""
        if role.endswith(("summary", "abstract")):
            return text_as_html(text(description))
    return None


def _enclosure(node: etree._Element) -> Enclosure | None:
    href = attr(node, "href")
    if href is None:
        return None
    return Enclosure(url=href, type=attr(node, "contenttype"), length=integer(attr(node, "size")),
                     width=integer(attr(node, "width")), height=integer(attr(node, "height")))
