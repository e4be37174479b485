"""Finding a NewsML 1 item's body and media among its components, and turning DataContent into HTML.

DataContent holds the body in one of three ways, all seen in agency feeds: an embedded <nitf> or XHTML
<html> document, bare markup such as <p> elements, or HTML escaped as text (often in CDATA).
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from schemas import Enclosure
from services.poller.formats.nitf import nitf_fields
from services.poller.formats.values import integer, text_or_markup_as_html
from services.poller.formats.xmltree import attr, child, children, descendant, inner_html, local_name, text

_BODY_ROLES = frozenset({"main", "body"})
# Components that hold text which is not the story: its headline, contacts, styling, captions.
_NOT_BODY_ROLES = frozenset({"headline", "subheadline", "contact", "stylesheet", "caption", "logo"})
_TEXT_FORMATS = ("nitf", "bcnitf", "xhtml", "html", "text", "iim")
# Components whose media are not the story's: the issuer's logo (Business Wire's), a stylesheet.
_NOT_MEDIA_ROLES = frozenset({"logo", "stylesheet"})
# Characteristics' names for a picture's size: Business Wire's, and AFP's and the specification's.
_WIDTHS, _HEIGHTS = ("PixelWidth", "Width"), ("PixelHeight", "Height")


def body_html(item: etree._Element) -> str | None:
    candidates = [(role, content) for role, content in _text_contents(item) if role not in _NOT_BODY_ROLES]
    candidates.sort(key=lambda candidate: candidate[0] not in _BODY_ROLES)  # stable: keeps document order
    for _, content in candidates:
        html = data_content_html(child(content, "DataContent"), _format(content))
        if html:
            return html
    return None


def subheadline_html(item: etree._Element) -> str | None:
    """Business Wire puts the subheadline in its own component rather than in NewsLines."""
    for role, content in _text_contents(item):
        if role == "subheadline":
            return data_content_html(child(content, "DataContent"), _format(content))
    return None


def media(item: etree._Element) -> list[Enclosure]:
    """The pictures, video and sound the item links (a ContentItem's Href), with their type, size in bytes
    and pixel size; a package's file names ("photo.jpg") name nothing a reader could fetch, and are left out."""
    found = []
    for role, content in _contents(item):
        href = attr(content, "Href")
        if href and "://" in href and role not in _NOT_MEDIA_ROLES and not _is_text(content):
            traits = child(content, "Characteristics")
            found.append(Enclosure(url=href, type=attr(child(content, "MimeType"), "FormalName"),
                                   length=integer(text(child(traits, "SizeInBytes"))),
                                   width=_property(traits, _WIDTHS), height=_property(traits, _HEIGHTS)))
    return found


def _property(traits: etree._Element | None, names: tuple[str, ...]) -> int | None:
    values = {attr(prop, "FormalName"): attr(prop, "Value") for prop in children(traits, "Property")}
    return next((number for name in names if (number := integer(values.get(name))) is not None), None)


def _text_contents(node: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """(role of the nearest component, ContentItem) for each text ContentItem, in document order."""
    return ((role, content) for role, content in _contents(node) if _is_text(content))


def _contents(node: etree._Element, role: str = "") -> Iterator[tuple[str, etree._Element]]:
    """(role of the nearest component, ContentItem) for each ContentItem, in document order."""
    for element in node:
        name = local_name(element)
        if name == "NewsComponent":
            own_role = (attr(child(element, "Role"), "FormalName") or "").lower()
            yield from _contents(element, own_role or role)
        elif name == "ContentItem":
            yield role, element
        elif name not in ("NewsItem", "NewsLines", "DescriptiveMetadata", "AdministrativeMetadata"):
            # (a nested NewsItem is a story of its own, not part of this one)
            yield from _contents(element, role)


def _is_text(content: etree._Element) -> bool:
    if child(content, "DataContent") is None:
        return False
    media = (attr(child(content, "MediaType"), "FormalName") or "").lower()
    mime = (attr(child(content, "MimeType"), "FormalName") or "").lower()
    if media:
        return media == "text"
    if mime:
        return mime.startswith("text/") and mime != "text/css"
    return _format(content).startswith(_TEXT_FORMATS)


def _format(content: etree._Element) -> str:
    return (attr(child(content, "Format"), "FormalName") or "").lower()


def data_content_html(data: etree._Element | None, fmt: str) -> str | None:
    if data is None:
        return None
    markup = next((e for e in data if local_name(e)), None)
    if markup is not None and local_name(markup) == "nitf":
        body = nitf_fields(markup)["content_html"]
        return body if isinstance(body, str) else None
    if markup is not None and local_name(markup) == "html":
        return inner_html(descendant(markup, "body"))
    if markup is not None:
        return inner_html(data)
    return text_or_markup_as_html(data.text, "html" in fmt or None)

