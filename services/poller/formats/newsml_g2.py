"""IPTC NewsML-G2: a newsMessage of items, or a single newsItem/packageItem.

Other G2 documents (planning, concept, knowledge and catalog items) are recognized and carry no news
item, so they parse to an empty feed instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from schemas import FeedFormat, PubStatus, RawItem
from services.poller.formats.base import FeedContext, InvalidDocumentError, ParsedFeed, make_raw_item
from services.poller.formats.newsml_g2_content import content_fields
from services.poller.formats.safexml import parse_xml
from services.poller.formats.values import authors_and_credits, integer, unique_texts
from services.poller.formats.xmltree import attr, child, children, fragment, local_name, namespace, text

NAR = "http://iptc.org/std/nar/2006-10-01/"
NEWS_ITEMS = frozenset({"newsItem", "packageItem"})
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Checks a parsed document against a schema and returns what is wrong with it (empty when valid). The
# XML Schema is not shipped with wirefeed; tests plug in a validator built from the IPTC XSD.
G2Validator = Callable[[etree._Element], Iterable[str]]
_PUBSTATUS = {"usable": PubStatus.USABLE, "withheld": PubStatus.WITHHELD, "canceled": PubStatus.CANCELED}


def parse_newsml_g2(body: bytes, ctx: FeedContext, content_type: str | None = None, *,
                    validator: G2Validator | None = None) -> ParsedFeed:
    root = parse_xml(body)
    if namespace(root) != NAR:
        raise InvalidDocumentError(f"<{local_name(root)}> is not in the NewsML-G2 namespace")
    if validator is not None:
        problems = list(validator(root))
        if problems:
            raise InvalidDocumentError("NewsML-G2 schema: " + "; ".join(problems[:3]))
    items = [_item(element, ctx) for element in _news_items(root) if not _is_stub_package(element)]
    return ParsedFeed(format=FeedFormat.NEWSML_G2, items=items)


def _news_items(root: etree._Element) -> list[etree._Element]:
    if local_name(root) in NEWS_ITEMS:
        return [root]
    if local_name(root) == "newsMessage":
        item_set = child(root, "itemSet")
        return [e for e in item_set if local_name(e) in NEWS_ITEMS] if item_set is not None else []
    return []


def _is_stub_package(element: etree._Element) -> bool:
    """A packageItem without identity only lists references to other items; nothing to read is lost."""
    return local_name(element) == "packageItem" and attr(element, "guid") is None


def _item(element: etree._Element, ctx: FeedContext) -> RawItem:
    guid = attr(element, "guid")
    meta = child(element, "itemMeta")
    if guid is None or meta is None:
        # Both are mandatory in every G2 version: without them there is no identity or status to track.
        raise InvalidDocumentError(f"<{local_name(element)}> without guid or itemMeta")
    content_meta = child(element, "contentMeta")
    versioned = text(child(meta, "versionCreated"))
    fields: dict[str, Any] = {
        "guid": guid,
        "version": integer(attr(element, "version")),
        "title": _headline(content_meta) or text(child(meta, "title")),
        "published_raw": text(child(meta, "firstCreated")) or text(child(content_meta, "contentCreated"))
        or versioned,
        "updated_raw": versioned,
        "pubstatus": _pubstatus(child(meta, "pubStatus")),
        "embargoed_until_raw": text(child(meta, "embargoed")),
        "urgency": integer(text(child(content_meta, "urgency"))),
        "byline": _joined(children(content_meta, "by")),
        "dateline": text(child(content_meta, "dateline")) or _located(child(content_meta, "located")),
        "slugline": text(child(content_meta, "slugline")),
        "providers": _providers(element, meta, content_meta),
        **_people(content_meta),
        "categories": _categories(content_meta),
        "language": attr(child(content_meta, "language"), "tag") or attr(element, XML_LANG),
    }
    fields.update(content_fields(element, fields))
    return make_raw_item(ctx, FeedFormat.NEWSML_G2, None, original=fragment(element), **fields)


def _located(located: etree._Element | None) -> str | None:
    """Where the content was created: its name, or the ``literal`` G2 allows in place of a concept
    (ANSA's ``<located type="cptype:city" literal="Rome"/>``)."""
    return text(child(located, "name")) or attr(located, "literal")


def _people(content_meta: etree._Element | None) -> dict[str, Any]:
    """Creators are the authors unless their role credits them otherwise (a photographer); contributors,
    who modified or enhanced the content, are credited by role (an editor), and left out when it says
    nothing credited (dpa repeats the creator, ANSA names itself as supplier). A party given only as a
    literal ("Reuters") is an organisation, not a person."""
    people = [(text(child(c, "name")), attr(c, "role"), local_name(c) == "creator")
              for c in (*children(content_meta, "creator"), *children(content_meta, "contributor"))]
    authors, credits = authors_and_credits(people)
    return {"authors": authors, "credits": credits or None}


def _headline(content_meta: etree._Element | None) -> str | None:
    """The main headline: one without a role or with a "main" role, else the first."""
    headlines = list(children(content_meta, "headline"))
    for headline in headlines:
        role = attr(headline, "role")
        if role is None or role.endswith(":main"):
            return text(headline)
    return text(headlines[0]) if headlines else None


def _providers(element: etree._Element, meta: etree._Element, content_meta: etree._Element | None) -> list[str]:
    """The credit line, the sources that originated or supplied the content, the provider of the item
    and the copyright holder, in that order."""
    sources = [s for s in children(content_meta, "infoSource")
               if (attr(s, "role") or "").endswith((":origProv", ":source"))]
    return unique_texts([
        text(child(content_meta, "creditline")),
        *map(_party, sources),
        _party(child(meta, "provider")),
        *(_party(child(rights, "copyrightHolder")) for rights in children(element, "rightsInfo")),
    ])


def _party(node: etree._Element | None) -> str | None:
    """A party's name: its literal, its name element, or the code of its QCode ("nprov:REUTERS")."""
    qcode = attr(node, "qcode")
    return attr(node, "literal") or text(child(node, "name")) or (qcode.rsplit(":", 1)[-1] if qcode else None)


def _pubstatus(node: etree._Element | None) -> PubStatus | None:
    # "stat:usable" as a QCode, or a URI ending in /usable.
    code = attr(node, "qcode") or attr(node, "uri") or ""
    return _PUBSTATUS.get(code.replace("/", ":").rsplit(":", 1)[-1].lower())


def _joined(nodes: Iterable[etree._Element]) -> str | None:
    parts = [part for part in map(text, nodes) if part]
    return ", ".join(parts) or None


def _categories(content_meta: etree._Element | None) -> list[str]:
    return unique_texts([
        *(text(child(subject, "name")) or attr(subject, "qcode") or attr(subject, "uri")
          for subject in children(content_meta, "subject")),
        *(text(keyword) for keyword in children(content_meta, "keyword")),
    ])
