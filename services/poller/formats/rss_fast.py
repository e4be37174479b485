"""A fast reading of plain RSS 2.0, RSS 1.0 and Atom 1.0 documents, on lxml; feedparser stays the reference.

feedparser walks a document through a pure-Python SAX handler, which caps it at about a thousand items
a second. Most news feeds are plain: well-formed XML, a handful of well-known item elements. For those,
reading the fields wirefeed uses straight from libxml2's tree gives the same values tens of times
faster. "The same values" is checked, not assumed: tests/unit/formats/test_fast_path_conformance.py
reads every feed of the corpus both ways and compares every field.

The fast reading declines (returns None, and feedparser reads the document) whenever the document holds
anything it does not model: ill-formed XML, another feed version, xml:base, an item element outside the
lists below, markup inside a text element, or a charset declared over HTTP. So a surprise costs speed,
never a wrong field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import feedparser.mixin
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_FeedParserMixin = feedparser.mixin._FeedParserMixin
# feedparser's pattern for an e-mail address inside an author's name.
_EMAIL = re.compile(r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
                    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?")
# Two patterns, each with a literal prefix the regex engine can scan for quickly.
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_C1_REFERENCE = re.compile(rb"&#(?:1[2-5]\d|x[89][0-9a-fA-F]);")
_HAS_XML_BASE = etree.XPath("boolean(//@xml:base)")
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii"})


@dataclass
class FastEntry:
    """An item's fields under feedparser's names, so one mapping serves both readings."""

    values: dict[str, Any] = field(default_factory=dict)
    element: Any = None  # the <item>/<entry>, for RawItem.original

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass
class FastFeed:
    version: str
    feed: dict[str, Any]
    entries: list[FastEntry]

    def get(self, name: str, default: Any = None) -> Any:
        return self.version if name == "version" else default


class NotPlainError(Exception):
    """The document holds something the fast reading does not model."""


def parse_plain_feed(body: bytes, content_type: str | None, parser: etree.XMLParser) -> FastFeed | None:
    """The fast reading of a plain feed, or None when feedparser must read it."""
    # xml:base scoping, HTTP charsets other than UTF-8, and cp1252 characters smuggled in as C1 controls
    # (which feedparser repairs) follow feedparser's rules, which are not repeated here.
    charset = _HTTP_CHARSET.search(content_type or "")
    if (charset and charset.group(1).lower() not in _UTF8_NAMES) or _C1_UTF8.search(body) or _C1_REFERENCE.search(body):
        return None
    try:
        document = _as_utf8_or_windows_1252(body)
        root = etree.fromstring(document, parser)
        declared = root.getroottree().docinfo.encoding.lower()
        if (isinstance(document, bytes) and declared not in ("utf-8", "us-ascii")) or _HAS_XML_BASE(root):
            return None
        return _read(root)
    except (etree.XMLSyntaxError, UnicodeDecodeError, NotPlainError):
        return None


def _as_utf8_or_windows_1252(body: bytes) -> bytes | str:
    """The body, or its windows-1252 reading when it declares no encoding and is not UTF-8.

    That is feedparser's own fallback, and a common one: many sites serve Latin text undeclared.
    """
    if body.startswith(b"<?xml") and b"encoding" in body[: body.find(b"?>")]:
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("windows-1252")
    return body


def _read(root: Any) -> FastFeed:
    tag = root.tag
    if tag == "rss" and root.get("version", "2.0") == "2.0":
        channel = _only(root, "channel")
        return _rss_feed("rss20" if root.get("version") else "rss", list(channel))
    if tag == f"{{{RDF}}}RDF":
        channel = _only(root, f"{{{RSS1}}}channel")
        return _rss_feed("rss10", [*channel, *root.iterchildren(f"{{{RSS1}}}item")])
    if tag == f"{{{ATOM}}}feed":
        if root.find("{*}item") is not None:
            raise NotPlainError("items in an Atom feed")
        return FastFeed("atom10", _atom_feed(root), [_atom_entry(e) for e in root.iterchildren(f"{{{ATOM}}}entry")])
    raise NotPlainError(f"root element {tag}")


def _only(root: Any, tag: str) -> Any:
    found = root.findall(tag)
    if len(found) != 1:
        raise NotPlainError(f"{len(found)} {tag} elements")
    return found[0]


# --- RSS 2.0 and RSS 1.0 ------------------------------------------------------------------------------

def _rss_feed(version: str, children: list[Any]) -> FastFeed:
    """Channel and items in document order, carrying feedparser's "has content" flag from one to the next.

    feedparser keeps that flag on the parser, not the item, and clears it only at the end of an item, so
    a channel's own summary and content elements change how its first item's summaries are read.
    """
    feed: dict[str, Any] = {"links": []}
    entries, has_content = [], False
    for child in children:
        if child.tag in ("item", f"{{{RSS1}}}item"):
            entries.append(_rss_item(child, has_content))
            has_content = False
        else:
            has_content = _rss_channel_element(feed, child, has_content)
    return FastFeed(version, feed, entries)


def _rss_channel_element(feed: dict[str, Any], child: Any, has_content: bool) -> bool:
    tag = child.tag
    if tag in ("title", f"{{{RSS1}}}title"):
        if "title" in feed:
            raise NotPlainError("repeated channel title")
        feed["title"] = _plain(child)
    elif tag == "ttl":
        feed["ttl"] = _plain(child)
    elif tag == f"{{{ATOM}}}link":
        feed["links"].append(_atom_link(child))
    elif tag in ("description", f"{{{RSS1}}}description", f"{{{ITUNES}}}summary", f"{{{CONTENT}}}encoded"):
        # At channel level only itunes:summary counts as a summary; a description is the subtitle.
        starts_content = tag == f"{{{CONTENT}}}encoded" or (feed.get("has_summary") and not has_content)
        feed["has_summary"] = feed.get("has_summary") or tag == f"{{{ITUNES}}}summary"
        return has_content or bool(starts_content)
    elif tag != f"{{{RSS1}}}items" and _feedparser_key(child) in _CHANNEL_FIELD_KEYS:
        raise NotPlainError(f"channel element {tag}")
    return has_content


def _rss_item(item: Any, has_content: bool) -> FastEntry:
    entry = FastEntry(element=item)
    entry.values["has_content"] = has_content
    about = item.get(f"{{{RDF}}}about")
    if about is not None:
        entry.values["id"] = about.strip()
    for child in item:
        reader = _RSS_ITEM.get(child.tag)
        if reader is None:
            _check_unread(child)
        else:
            reader(entry.values, child)
    _settle_rss(entry.values)
    return entry


def _settle_rss(values: dict[str, Any]) -> None:
    if "link" not in values and values.get("guidislink"):
        values["link"] = values.get("id")
    content = values.get("content")
    if content and "summary" not in values:
        values["summary"] = content[0]["value"]


def _set(name: str, attributes: frozenset[str] = frozenset()) -> Callable[[dict[str, Any], Any], None]:
    def read(values: dict[str, Any], element: Any) -> None:
        if name in values or not attributes.issuperset(element.attrib):
            raise NotPlainError(f"repeated {name}, or attributes on it")
        values[name] = _plain(element)
    return read


_set_title = _set("title")
_set_guid = _set("id", frozenset({"isPermaLink"}))


def _title(values: dict[str, Any], element: Any) -> None:
    _set_title(values, element)
    values["title_detail"] = {"language": _language(element)}


def _guid(values: dict[str, Any], element: Any) -> None:
    _set_guid(values, element)
    values["guidislink"] = element.get("isPermaLink", "true").strip().lower() != "false"


def _category(values: dict[str, Any], element: Any) -> None:
    values.setdefault("tags", []).append({"term": _plain(element)})


def _creator(values: dict[str, Any], element: Any) -> None:
    values.setdefault("authors", []).append({"name": _author_name(_plain(element))})


def _author_name(text: str) -> str:
    """The name in "jo@example.com (Jo Bloggs)", cut out exactly as feedparser's _sync_author_detail does."""
    email = _EMAIL.search(text)
    if email is None:
        return text
    name = text.replace(email.group(0), "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "").strip()
    name = name[1:] if name.startswith("(") else name
    name = name[:-1] if name.endswith(")") else name
    return name.strip()


def _summary(values: dict[str, Any], element: Any) -> None:
    # feedparser's rule: a summary-like element after the first, before any content, becomes content;
    # once there is content, a later one replaces the summary.
    if "summary" in values and not values.get("has_content"):
        _add_content(values, element)
    else:
        values["summary"] = _plain(element)


def _add_content(values: dict[str, Any], element: Any) -> None:
    values.setdefault("content", []).append({"value": _plain(element)})
    values["has_content"] = True


def _enclosure(values: dict[str, Any], element: Any) -> None:
    if len(element):
        raise NotPlainError("markup inside an enclosure")
    enclosure = {"href": element.get("url"), "length": element.get("length"), "type": element.get("type")}
    values.setdefault("enclosures", []).append(enclosure)


def _atom_link_in_rss(values: dict[str, Any], element: Any) -> None:
    values.setdefault("links", []).append(_atom_link(element))


_RSS_ITEM: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "title": _title, f"{{{RSS1}}}title": _title,
    "link": _set("link"), f"{{{RSS1}}}link": _set("link"),
    "description": _summary, f"{{{RSS1}}}description": _summary, f"{{{ITUNES}}}summary": _summary,
    "guid": _guid,
    "pubDate": _set("published"),
    f"{{{DC}}}date": _set("updated"),
    "category": _category,
    "author": _creator,
    f"{{{DC}}}creator": _creator,
    f"{{{CONTENT}}}encoded": _add_content,
    f"{{{ITUNES}}}author": _creator,
    "enclosure": _enclosure,
    f"{{{ATOM}}}link": _atom_link_in_rss,
}


# --- Atom 1.0 -----------------------------------------------------------------------------------------

def _atom_feed(root: Any) -> dict[str, Any]:
    feed: dict[str, Any] = {"links": []}
    for child in root:
        if child.tag == f"{{{ATOM}}}title":
            feed["title"] = _atom_text(child)
        elif child.tag == f"{{{ATOM}}}link":
            feed["links"].append(_atom_link(child))
    return feed


def _atom_entry(element: Any) -> FastEntry:
    entry = FastEntry(element=element)
    values = entry.values
    for child in element:
        reader = _ATOM_ENTRY.get(child.tag)
        if reader is None:
            _check_unread(child)
        else:
            reader(values, child)
    links = values.get("links", [])
    alternate = next((x["href"] for x in links if x.get("rel") == "alternate" and x.get("href")), None)
    values["link"] = alternate or values.get("id")
    values["enclosures"] = [x for x in links if x.get("rel") == "enclosure" and x.get("href")]
    if "summary" not in values and values.get("content"):
        values["summary"] = values["content"][0]["value"]
    return entry


def _atom_set(name: str) -> Callable[[dict[str, Any], Any], None]:
    def read(values: dict[str, Any], element: Any) -> None:
        if name in values:
            raise NotPlainError(f"repeated {name}")
        values[name] = _atom_text(element)
        if name == "title":
            values["title_detail"] = {"language": _language(element)}
    return read


def _atom_content(values: dict[str, Any], element: Any) -> None:
    if "content" in values or element.get("src") is not None:
        raise NotPlainError("content by reference, or repeated")
    values["content"] = [{"value": _atom_text(element)}]


def _atom_link_in_entry(values: dict[str, Any], element: Any) -> None:
    values.setdefault("links", []).append(_atom_link(element))


def _atom_author(values: dict[str, Any], element: Any) -> None:
    name = element.find(f"{{{ATOM}}}name")
    values.setdefault("authors", []).append({"name": _plain(name) if name is not None else None})


def _atom_category(values: dict[str, Any], element: Any) -> None:
    values.setdefault("tags", []).append({"term": element.get("term")})


def _atom_link(element: Any) -> dict[str, Any]:
    if not element.get("href"):
        raise NotPlainError("a link without href")  # feedparser falls back to the element's text
    return {"rel": element.get("rel", "alternate"), "href": element.get("href"),
            "type": element.get("type"), "length": element.get("length")}


_ATOM_ENTRY: dict[str, Callable[[dict[str, Any], Any], None]] = {
    f"{{{ATOM}}}title": _atom_set("title"),
    f"{{{ATOM}}}id": _atom_set("id"),
    f"{{{ATOM}}}summary": _atom_set("summary"),
    f"{{{ATOM}}}published": _atom_set("published"),
    f"{{{ATOM}}}updated": _atom_set("updated"),
    f"{{{ATOM}}}content": _atom_content,
    f"{{{ATOM}}}link": _atom_link_in_entry,
    f"{{{ATOM}}}author": _atom_author,
    f"{{{ATOM}}}category": _atom_category,
}


def _atom_text(element: Any) -> str:
    kind = element.get("type", "text")
    if kind not in ("text", "html"):
        raise NotPlainError(f"atom text of type {kind}")  # xhtml and media types: feedparser's to read
    return _plain(element)


# --- elements not read here -----------------------------------------------------------------------------

# feedparser's own table of the elements it interprets: its _start_/_end_ handler names, keyed like its
# SAX handler keys them (known namespace prefix, lowercased). An element outside the table is kept by
# feedparser under its own name, out of every field wirefeed reads, so skipping it changes nothing.
_HANDLED = frozenset(name.split("_", 2)[2].lower() for name in dir(_FeedParserMixin)
                     if name.startswith(("_start_", "_end_")))
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
# Handled elements that only fill fields wirefeed does not read (checked by the conformance test).
_UNREAD_FIELDS = frozenset({
    "media_content", "media_thumbnail", "media_credit", "media_rating", "media_restriction", "media_license",
    "media_player", "media_group", "itunes_explicit", "itunes_block", "itunes_image", "itunes_subtitle",
    "rights", "copyright", "dc_rights", "dc_publisher", "contributor", "dc_contributor", "source",
    "georss_point", "georss_where", "where", "expirationdate",
})
# Channel elements that would change the feed's title or ttl, or start content (see _rss_feed).
_CHANNEL_FIELD_KEYS = frozenset({
    "title", "dc_title", "media_title", "ttl", "summary", "content", "fullitem", "body", "xhtml_body",
    "media_description", "dc_description",
})


def _feedparser_key(element: Any) -> str:
    if not isinstance(element.tag, str):
        raise NotPlainError("an entity reference between elements")
    return _key(element.tag, element.prefix)


@functools.lru_cache(maxsize=4096)
def _key(tag: str, prefix: str | None) -> str:
    namespace, _, localname = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    prefix = _PREFIXES.get(namespace.lower(), prefix)
    return (f"{prefix}_{localname}" if prefix else localname).lower()


def _check_unread(element: Any) -> None:
    """NotPlainError when feedparser would read this element (or one inside it) into a field wirefeed uses."""
    key = _feedparser_key(element)
    if key in _HANDLED and key not in _UNREAD_FIELDS:
        raise NotPlainError(f"element {key}, which feedparser reads")
    for inner in element:
        _check_unread(inner)


# --- text ---------------------------------------------------------------------------------------------

def _plain(element: Any) -> str:
    """The element's text; markup inside a text element is feedparser's to interpret."""
    if len(element):
        raise NotPlainError(f"markup inside {element.tag}")
    return (element.text or "").strip()


def _language(element: Any) -> str | None:
    while element is not None:
        lang = element.get(XML_LANG)
        if lang is not None:
            return str(lang)
        element = element.getparent()
    return None
