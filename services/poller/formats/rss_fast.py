"""A fast reading of plain RSS 0.91-2.0, RSS 1.0 and Atom 1.0 documents, on lxml; feedparser stays the reference.

feedparser walks a document through a pure-Python SAX handler, which caps it at about a thousand items
a second. Most news feeds are plain: well-formed XML, a handful of well-known item elements. For those,
reading the fields wirefeed uses straight from libxml2's tree gives the same values tens of times
faster. "The same values" is checked, not assumed: tests/unit/formats/test_fast_path_conformance.py
reads every feed of the corpus both ways and compares every field.

The fast reading declines (returns None, and feedparser reads the document) whenever the document holds
anything it does not model: ill-formed XML, another feed version, an item element outside the lists
below, markup inside a text element, or a charset declared over HTTP. So a surprise costs speed, never a
wrong field. xml:base is modelled: links and permalink ids are resolved against it as feedparser tracks it;
so is Atom's xhtml text, serialised as feedparser serialises it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import feedparser.mixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from services.poller.formats import media_rss
from services.poller.formats.second_summary import item_content
from services.poller.formats.tags import Tags
from services.poller.formats.values import author_name

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
MEDIA = "http://search.yahoo.com/mrss/"
XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_FeedParserMixin = feedparser.mixin._FeedParserMixin
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_C1_REFERENCE = re.compile(rb"&#(?:0*1[2-5]\d|x0*[89][0-9a-fA-F]);")
_HAS_XML_BASE = etree.XPath("boolean(//@xml:base)")
# Each element's base while a document with xml:base is read (links are resolved against it, as feedparser
# resolves them); None for the usual document without.
_BASES: ContextVar[dict[Any, str] | None] = ContextVar("xml_bases", default=None)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii"})
_RSS_VERSIONS = frozenset({"2.0", "0.91", "0.92", "0.93", "0.94"})
# Declared encodings the fast reading takes (many older European and Russian sites still serve them).
SINGLE_BYTE_ENCODINGS = frozenset({
    "iso-8859-1", "iso-8859-2", "iso-8859-5", "iso-8859-7", "iso-8859-9", "iso-8859-13", "iso-8859-15",
    "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254", "windows-1257", "koi8-r",
})
_C1_CHARACTER = re.compile("[\x80-\x9f]")
_PERSON_PARTS = frozenset({f"{{{ATOM}}}name", f"{{{ATOM}}}email", f"{{{ATOM}}}uri"})
# Attributes that only scope what is inside (xml:lang, xml:base), which any element may carry.
_SCOPE_ATTRIBUTES = frozenset({XML_LANG, XML_BASE})
_TEXT_ATTRIBUTES = _SCOPE_ATTRIBUTES | {"type"}
# feedparser's names for content types, and the ones it takes a link to a page to have
_CONTENT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PLAIN_TYPES = frozenset({"html", "text/html", "text", "text/plain"})  # read as if no type were given


# Clark-notation tags, spelled out once rather than formatted for every element read.
RSS1_CHANNEL, RSS1_ITEM, RSS1_ITEMS = f"{{{RSS1}}}channel", f"{{{RSS1}}}item", f"{{{RSS1}}}items"
RDF_ROOT, RDF_ABOUT = f"{{{RDF}}}RDF", f"{{{RDF}}}about"
ATOM_FEED, ATOM_ENTRY = f"{{{ATOM}}}feed", f"{{{ATOM}}}entry"
ATOM_LINK, ATOM_TITLE = f"{{{ATOM}}}link", f"{{{ATOM}}}title"
CONTENT_ENCODED, ITUNES_SUMMARY = f"{{{CONTENT}}}encoded", f"{{{ITUNES}}}summary"
_RSS_ITEM_TAGS = frozenset({"item", RSS1_ITEM})
_REFERENCE_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_RSS_SUMMARY_TAGS = frozenset({"description", f"{{{RSS1}}}description", ITUNES_SUMMARY, CONTENT_ENCODED})

# An item's fields, keyed by RawItem's names, while its elements are read; _finish_item drops the helpers.
Values = dict[str, Any]
Reader = Callable[[Values, Any], None]


@dataclass
class PlainFeed:
    """A plain feed as feedparser reads it: the feed's fields, and each item's RawItem fields.

    Links are as the document writes them; the caller resolves them against the feed's URL.
    """

    version: str
    title: str | None = None
    ttl: str | None = None
    language: str | None = None  # the root's xml:lang, then the channel's language elements (the last wins)
    links: dict[str, str] = field(default_factory=dict)  # rel -> href of the feed's first link with that rel
    dates: dict[str, str] = field(default_factory=dict)  # "published", "updated" -> the channel's (the last wins)
    items: list[Values] = field(default_factory=list)
    elements: list[Any] = field(default_factory=list)  # each item's <item>/<entry>, for RawItem.original


class NotPlainError(Exception):
    """The document holds something the fast reading does not model."""


def parse_plain_feed(body: bytes, content_type: str | None, parser: etree.XMLParser) -> PlainFeed | None:
    """The fast reading of a plain feed, or None when feedparser must read it."""
    # HTTP charsets other than UTF-8, and cp1252 characters smuggled in as C1 controls (which feedparser
    # repairs) follow feedparser's rules, which are not repeated here.
    charset = _HTTP_CHARSET.search(content_type or "")
    if (charset and charset.group(1).lower() not in _UTF8_NAMES) or _has_c1_controls(body):
        return None
    try:
        document = _as_utf8_or_windows_1252(body)
        root = etree.fromstring(document, parser)
        declared = root.getroottree().docinfo.encoding.lower()
        if isinstance(document, bytes) and declared not in _UTF8_NAMES and not _reads_alike(body, declared):
            return None
        # The body is ASCII-compatible here (UTF-8, or read as windows-1252), so an xml:base attribute
        # shows in its bytes; scanning them is cheaper than searching the tree.
        if b"xml:base" in body and _HAS_XML_BASE(root):
            token = _BASES.set(_document_bases(root))
            try:
                return _all_items_read(root, _read(root))
            finally:
                _BASES.reset(token)
        return _all_items_read(root, _read(root))
    except (etree.XMLSyntaxError, UnicodeDecodeError, NotPlainError):
        return None


def _all_items_read(root: Any, feed: PlainFeed) -> PlainFeed:
    """The feed, unless it has items elsewhere than where feeds put them (inside an image, an rdf:li, a
    link): feedparser starts an entry at any item or entry element."""
    if sum(1 for _ in root.iter("{*}item", "{*}entry")) != len(feed.items):
        raise NotPlainError("items nested in other elements")
    return feed


def _document_bases(root: Any) -> dict[Any, str]:
    """Each element's base URL as feedparser tracks xml:base: given no URL of the document, scoped by a
    stack that restores the enclosing base only when it is not empty (so a base set inside an element
    whose parent has none stays in force after it, as feedparser has it)."""
    bases: dict[Any, str] = {}
    current = ""
    stack: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        if event == "start":
            declared = element.get(XML_BASE) or element.get("base") or current
            current = (make_safe_absolute_uri(current, declared) or current) if current else _urljoin("", declared)
            stack.append(current)
            bases[element] = current
        else:
            stack.pop()
            if stack and stack[-1]:
                current = stack[-1]
    return bases


def _resolve(element: Any, url: str) -> str:
    """``url`` as feedparser gives it: resolved against the element's xml:base, if the document has any."""
    bases = _BASES.get()
    return url if bases is None or not url else _urljoin(bases[element], url)  # feedparser skips an empty one


def _reads_alike(body: bytes, encoding: str) -> bool:
    """A declared single-byte encoding libxml2 decodes as Python does (checked byte by byte in the tests),
    with no byte it leaves undefined and none in the C1 range, which feedparser maps to windows-1252."""
    if encoding not in SINGLE_BYTE_ENCODINGS:
        return False
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return False
    return _C1_CHARACTER.search(text) is None


def _has_c1_controls(body: bytes) -> bool:
    # A one-byte membership test (memchr) is far cheaper than a regex scan, and usually settles it.
    return ((b"\xc2" in body and _C1_UTF8.search(body) is not None)
            or (b"#" in body and _C1_REFERENCE.search(body) is not None))


def _as_utf8_or_windows_1252(body: bytes) -> bytes | str:
    """The body, or its windows-1252 reading when it declares no encoding and is not UTF-8.

    That is feedparser's own fallback, and a common one: many sites serve Latin text undeclared.
    """
    if body.isascii() or (body.startswith(b"<?xml") and b"encoding" in body[: body.find(b"?>")]):
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("windows-1252")
    return body


def _read(root: Any) -> PlainFeed:
    tag = root.tag
    # feedparser takes the feed's language from the root's xml:lang (or plain lang) first; not an RDF
    # root's, which its check misses (its items still inherit it, as their own language).
    language = root.get(XML_LANG, root.get("lang")) or None
    if tag == "rss" and root.get("version", "2.0") in _RSS_VERSIONS:
        # RSS 0.91 to 0.94 are read as 2.0 is (feedparser's version names differ, wirefeed's format does not)
        channel = _only(root, "channel")
        if channel.get("lastmod") is not None:
            raise NotPlainError("a CDF lastmod on the channel, which feedparser reads as the feed's update time")
        _check_beside_channel(root, {"channel"})
        return _rss_feed(PlainFeed("rss20" if root.get("version") else "rss", language=language), channel)
    if tag == RDF_ROOT:
        channel = _only(root, RSS1_CHANNEL)
        _check_beside_channel(root, {RSS1_CHANNEL, RSS1_ITEM})
        return _rss_feed(PlainFeed("rss10"), [*channel, *root.iterchildren(RSS1_ITEM)])
    if tag == ATOM_FEED:
        if root.find("{*}item") is not None:
            raise NotPlainError("items in an Atom feed")
        return _atom_feed(root, language)
    raise NotPlainError(f"root element {tag}")


def _check_beside_channel(root: Any, read: set[str]) -> None:
    """NotPlainError when an element beside the channel (RSS 1.0's image and text input stand there) is
    one feedparser would read as the channel's, or holds one: it reads elements wherever they stand. An
    image or text input before the channel leaves feedparser without the channel's title."""
    after_channel = False
    for child in root:
        if child.tag in read:
            after_channel = True
            continue
        if (key := _feedparser_key(child)) in _CHANNEL_FIELD_KEYS:
            raise NotPlainError(f"channel element {child.tag} outside the channel")
        if key in _CHANNEL_CONTAINERS and not after_channel:
            raise NotPlainError(f"{child.tag} before the channel")
        if len(child):
            _check_nested_in_channel(child, key)


def _only(root: Any, tag: str) -> Any:
    found = [child for child in root if child.tag == tag]  # findall(tag), without its path machinery
    if len(found) != 1:
        raise NotPlainError(f"{len(found)} {tag} elements")
    return found[0]


def _finish_item(values: Values, item: Any) -> Values:
    """The item's RawItem fields: the reading's helpers dropped, and empty texts, which feedparser reports
    as absent; the language is the title's, as in feedparser's title_detail (the item's, when unset)."""
    values.pop("has_content", None)
    values.pop("guidislink", None)
    if "media_content" in values or "media_thumbnail" in values:
        media = media_rss.media_enclosures(values.pop("media_content", []), values.pop("media_thumbnail", []))
        values["enclosures"] = [*values.get("enclosures", ()), *media]
    second_summary = values.pop("second_summary", None)
    if (content := item_content(values.get("content_html"), second_summary, values.get("summary_html"))) is not None:
        values["content_html"] = content
    values.pop("title_depth_reset", None)
    if (caption := values.pop("caption", None)) is not None:
        values["summary_html"] = media_rss.fallback_summary(values.get("summary_html"), values.get("content_html"),
                                                            caption)
    if (tags := values.pop("tags", None)) is not None:
        values["categories"] = [term for term, _, _ in tags.entries if term]
    if "title" in values:
        language = values["language"]
        values["language"] = _text(_language(item) if language is None else language)
    # feedparser's empty content still counts as content; every other empty text is no text.
    return {name: value for name, value in values.items() if value or (name == "content_html" and value == "")}


# --- RSS 2.0 and RSS 1.0 ------------------------------------------------------------------------------

def _rss_feed(feed: PlainFeed, children: Any) -> PlainFeed:
    """Channel and items in document order, carrying feedparser's "has content" flag from one to the next.

    feedparser keeps that flag on the parser, not the item, and clears it only at the end of an item, so
    a channel's own summary and content elements change how its first item's summaries are read.
    """
    has_content = has_summary = False
    for child in children:
        tag = child.tag
        if tag in _RSS_ITEM_TAGS:
            feed.items.append(_rss_item(child, has_content))
            feed.elements.append(child)
            has_content = False
        elif tag in _RSS_SUMMARY_TAGS:
            if len(child):  # feedparser reads elements inside as content, or as the fields they name
                raise NotPlainError(f"markup inside the channel's {tag}")
            # At channel level only itunes:summary counts as a summary (a description is the subtitle);
            # content, or a summary-like element after a summary, starts content.
            has_content = has_content or has_summary or tag == CONTENT_ENCODED
            has_summary = has_summary or tag == ITUNES_SUMMARY
        elif (reader := _RSS_CHANNEL.get(tag) or _reader_by_key(child, _RSS_CHANNEL_BY_KEY)) is not None:
            reader(feed, child)
        elif (key := _feedparser_key(child)) in _FEED_DATE_KEYS:
            _channel_date(feed, child, key)
        elif key in _CHANNEL_FIELD_KEYS:
            raise NotPlainError(f"channel element {tag}")
        elif len(child):
            _check_nested_in_channel(child, key)
    return feed


def _check_nested_in_channel(element: Any, key: str) -> None:
    """NotPlainError when feedparser would read an element nested in this unread channel element into the
    feed's title, ttl, language or links, or have it start content (as it reads elements wherever they
    stand); an image's or text input's own title, link and description are theirs."""
    keys = _CONTAINED_CHANNEL_KEYS if key in _CHANNEL_CONTAINERS else _NESTED_CHANNEL_KEYS
    if key in _CHANNEL_CONTAINERS and any(len(part) for part in element):
        # an element inside an image's url or link: feedparser then takes the image's title for the feed's
        # and its link for the feed's (or raises KeyError)
        raise NotPlainError(f"markup inside a part of {element.tag}")
    for inner in element.iterdescendants():
        # the local name first: feedparser's key costs more, and few elements have a candidate's name
        if inner.tag.rpartition("}")[2].lower() in _NESTED_CHANNEL_NAMES and _feedparser_key(inner) in keys:
            raise NotPlainError(f"channel field {inner.tag} nested in {element.tag}")


def _channel_title(feed: PlainFeed, element: Any) -> None:
    if feed.title is not None or not _SCOPE_ATTRIBUTES.issuperset(element.attrib):
        raise NotPlainError("repeated channel title, or a type on it")
    feed.title = _plain(element)


def _channel_ttl(feed: PlainFeed, element: Any) -> None:
    if element.attrib:
        raise NotPlainError("attributes on ttl, which feedparser then keeps instead of its text")
    feed.ttl = _plain(element)


def _channel_language(feed: PlainFeed, element: Any) -> None:
    feed.language = _plain(element)


def _channel_date(feed: PlainFeed, element: Any, key: str) -> None:
    feed.dates[_FEED_DATE_KEYS[key]] = _plain(element)


def _channel_link(feed: PlainFeed, element: Any) -> None:
    rel, href = _atom_link(element)
    feed.links.setdefault(rel, href)


def _channel_rss_link(feed: PlainFeed, element: Any) -> None:
    """Unread (the feed's links are its Atom links), but feedparser reads one with a rel or an href as an
    Atom link (rel="self": the feed's own URL), and one with elements inside otherwise than its text."""
    if len(element) or not _SCOPE_ATTRIBUTES.issuperset(element.attrib):
        raise NotPlainError("attributes or markup on the channel's link")


def _channel_items(feed: PlainFeed, element: Any) -> None:
    """RSS 1.0's table of contents; the items themselves follow the channel."""
    _check_nested_in_channel(element, "items")


_RSS_CHANNEL: dict[str, Callable[[PlainFeed, Any], None]] = {
    "title": _channel_title, f"{{{RSS1}}}title": _channel_title,
    "ttl": _channel_ttl,
    "language": _channel_language, f"{{{DC}}}language": _channel_language,
    ATOM_LINK: _channel_link,
    "link": _channel_rss_link, f"{{{RSS1}}}link": _channel_rss_link,
    RSS1_ITEMS: _channel_items,
}


def _rss_item(item: Any, has_content: bool) -> Values:
    _check_cdf_attributes(item)
    values: Values = {"has_content": has_content}
    about = item.get(RDF_ABOUT)
    if about is not None:
        values["guid"] = about.strip()
    _read_children(item, _RSS_ITEM, values, _RSS_ITEM_BY_KEY)
    if "link" not in values and values.get("guidislink"):
        values["link"] = values.get("guid")
    if "summary_html" not in values and "content_html" in values:
        values["summary_html"] = values["content_html"]
    return _finish_item(values, item)


def _check_cdf_attributes(item: Any) -> None:
    """feedparser reads Channel Definition Format's href and lastmod on any item or entry as its link and
    its update time."""
    if item.get("href") is not None or item.get("lastmod") is not None:
        raise NotPlainError("CDF attributes on an item")


def _read_children(item: Any, readers: dict[str, Reader], values: Values, by_key: dict[str, Reader]) -> None:
    for child in item:
        reader = readers.get(child.tag)
        if reader is None and (reader := _reader_by_key(child, by_key)) is None:
            _read_unread(values, child)
        else:
            reader(values, child)


def _reader_by_key(element: Any, by_key: dict[str, Any]) -> Any:
    """The reader of a namespaced element spelt otherwise than the readers' tags, which feedparser keys
    alike: a namespace it knows written in other case (iTunes' "http://www.itunes.com/DTDs/Podcast-1.0.dtd"),
    or one it does not know, named by the document's prefix (Dublin Core without its final slash)."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return by_key.get(_feedparser_key(element))


def _keyed(readers: dict[str, Any]) -> dict[str, Any]:
    """The readers of namespaced elements, by feedparser's key ("dc_creator")."""
    keyed = ((_key_by_namespace(tag), reader) for tag, reader in readers.items() if tag.startswith("{"))
    return {key: reader for key, reader in keyed if key and "_" in key}


def _set(name: str, attributes: frozenset[str] = frozenset()) -> Reader:
    def read(values: Values, element: Any) -> None:
        if name in values or not attributes.issuperset(element.attrib):
            raise NotPlainError(f"repeated {name}, or attributes on it")
        values[name] = _plain(element)
    return read


_set_link = _set("link")


def _link(values: Values, element: Any) -> None:
    _set_link(values, element)
    link = _resolve(element, values["link"])
    if link and "&" in link:
        # feedparser takes an item link's "&amp;" and "&name;" for ampersands escaped once too often, as
        # they mostly are ("?a=1&amp;amp;b=2" in the document): "?a=1&b=2", and "&lt;" becomes "&lt".
        link = _REFERENCE_IN_LINK.sub(r"&\g<1>", link.replace("&amp;", "&"))
    values["link"] = link


def _titled(set_title: Reader) -> Reader:
    """A title reader that also notes the title's own xml:lang (_finish_item falls back to the item's)."""
    def read(values: Values, element: Any) -> None:
        set_title(values, element)
        values["language"] = element.get(XML_LANG)
    return read


_title = _titled(_set("title"))


def _dc_title(values: Values, element: Any) -> None:
    """dc:title is a title to feedparser (the last one wins): the same words again change nothing."""
    if "title" not in values:
        _title(values, element)
    elif element.attrib or _plain(element) != values["title"]:
        raise NotPlainError("two different titles")


def _guid(values: Values, element: Any) -> None:
    # feedparser reads attribute names in any case (HuffPost writes "isPermalink")
    permalink = [value for name, value in element.attrib.items() if name.lower() == "ispermalink"]
    if "guid" in values or len(permalink) != len(element.attrib) or len(permalink) > 1:
        raise NotPlainError("repeated guid, or attributes on it")
    values["guid"] = _plain(element)
    # A permalink, as feedparser decides it: the attribute absent or exactly "true" ("True" is not).
    values["guidislink"] = (permalink[0] if permalink else "true") == "true"
    if values["guidislink"]:
        values["guid"] = _resolve(element, values["guid"])


def _category(values: Values, element: Any) -> None:
    """feedparser's tags, [term, scheme, label] each, from a category or dc:subject: one from the attributes,
    and the element's text as the last tag's term when it has none, else as a tag of its own."""
    tags = _tags(values)
    tags.add([element.get("term"), element.get("scheme", element.get("domain")), element.get("label")])
    text = _plain(element)
    if text and tags.entries and not tags.entries[-1][0]:
        tags.name_last(text)
    elif text:
        tags.add([text, None, None])


def _keywords(scheme: str | None) -> Reader:
    """itunes:keywords and media:keywords: a tag for each comma-separated term."""
    def read(values: Values, element: Any) -> None:
        if len(element.attrib):
            raise NotPlainError("attributes on keywords")
        tags = _tags(values)
        for term in _plain(element).split(","):
            if term.strip():
                tags.add([term.strip(), scheme, None])
    return read


def _tags(values: Values) -> Tags:
    tags: Tags | None = values.get("tags")
    if tags is None:
        tags = values["tags"] = Tags()
    return tags


def _source(values: Values, element: Any) -> None:
    """RSS's source: the name of the channel the item came from (an aggregator's publisher: Google News
    names Reuters here); feedparser keeps the last one's."""
    values["title_depth_reset"] = True  # see _media_text
    values["providers"] = [text] if (text := _plain(element)) else []


_IMAGE_PARTS = frozenset({"url", "title", "link", "width", "height"})


def _item_image(values: Values, element: Any) -> None:
    """An item's own image (Slovak and Czech news sites add one): feedparser reads none of it into the
    fields wirefeed uses once the item's title is read, but its title's language, had the title one of
    its own, and the depth it keeps for the title (see _media_text)."""
    if not values.get("title") or values.get("language") is not None or element.attrib:
        raise NotPlainError("an item's image before its title, or a language on either")
    for part in element:
        if part.tag not in _IMAGE_PARTS or part.attrib or len(part):
            raise NotPlainError(f"{part.tag} in an item's image")
    values["title_depth_reset"] = True  # feedparser forgets the title's depth here too


def _creator(values: Values, element: Any) -> None:
    name = author_name(_plain(element))
    if name:
        values.setdefault("authors", []).append(name)


def _summary(values: Values, element: Any) -> None:
    # feedparser's rule: a summary-like element after the first, before any content, becomes content
    # (wirefeed keeps it apart: see second_summary); once there is content, a later one replaces the summary.
    _check_scope_only(element)
    if "summary_html" in values and not values["has_content"]:
        values.setdefault("second_summary", _plain(element))
        values["has_content"] = True
    else:
        values["summary_html"] = _plain(element)


def _check_scope_only(element: Any) -> None:
    """feedparser acts on a text element's type and mode attributes; the fast reading leaves those to it,
    but for a type that only names what an RSS text is anyway (HuffPost's type="html")."""
    attributes = element.attrib
    if not _SCOPE_ATTRIBUTES.issuperset(attributes) and not (
            _TEXT_ATTRIBUTES.issuperset(attributes) and attributes["type"].lower() in _PLAIN_TYPES):
        raise NotPlainError(f"attributes on {element.tag}")


def _add_content(values: Values, element: Any) -> None:
    _check_scope_only(element)
    values.setdefault("content_html", _plain(element))  # feedparser's first content is the content
    values["has_content"] = True


def _enclosure(values: Values, element: Any) -> None:
    if len(element):
        raise NotPlainError("markup inside an enclosure")
    if element.get("url"):
        # feedparser leaves an enclosure's url as written, xml:base or not
        enclosure = {"href": element.get("url"), "length": element.get("length"), "type": _lowered(element, "type"),
                     "width": element.get("width"), "height": element.get("height")}
        values.setdefault("enclosures", []).append(enclosure)


def _atom_link_in_item(values: Values, element: Any) -> None:
    """An Atom link, in an entry or an RSS item: feedparser's link is the last alternate link to a page."""
    rel, href = _atom_link(element)
    if rel == "alternate" and _is_page(element):
        values["link"] = href
    elif rel == "canonical":
        values.setdefault("canonical_link", href)
    elif rel == "enclosure":
        enclosure = {"href": href, "length": element.get("length"), "type": _lowered(element, "type", "text/html"),
                     "width": element.get("width"), "height": element.get("height")}
        values.setdefault("enclosures", []).append(enclosure)


def _is_page(link: Any) -> bool:
    kind = link.get("type", "text/html").lower()
    return _CONTENT_TYPES.get(kind, kind) in _HTML_TYPES


_RSS_ITEM: dict[str, Reader] = {
    "title": _title, f"{{{RSS1}}}title": _title, f"{{{DC}}}title": _dc_title,
    "link": _link, f"{{{RSS1}}}link": _link,
    "description": _summary, f"{{{RSS1}}}description": _summary, ITUNES_SUMMARY: _summary,
    f"{{{DC}}}description": _summary,  # feedparser reads it as it reads a description
    "guid": _guid,
    # feedparser reads Atom's dates in an RSS item as it reads pubDate and dc:date (Medium writes atom:updated)
    "pubDate": _set("published_raw"), f"{{{ATOM}}}published": _set("published_raw"),
    f"{{{DC}}}date": _set("updated_raw"), f"{{{ATOM}}}updated": _set("updated_raw"),
    "modified": _set("updated_raw"),  # HuffPost's; feedparser reads it as it reads dc:date
    "category": _category, f"{{{DC}}}subject": _category,
    f"{{{ITUNES}}}keywords": _keywords("http://www.itunes.com/"), f"{{{MEDIA}}}keywords": _keywords(None),
    "author": _creator,
    f"{{{DC}}}creator": _creator,
    CONTENT_ENCODED: _add_content,
    f"{{{ITUNES}}}author": _creator,
    "enclosure": _enclosure,
    ATOM_LINK: _atom_link_in_item,
    "source": _source,
    "image": _item_image,
}


# --- Atom 1.0 -----------------------------------------------------------------------------------------

def _atom_feed(root: Any, language: str | None) -> PlainFeed:
    feed = PlainFeed("atom10", language=language)
    for child in root:
        tag = child.tag
        if tag == ATOM_ENTRY:
            feed.items.append(_atom_entry(child))
            feed.elements.append(child)
        elif tag == ATOM_TITLE:
            feed.title = _atom_text(child)
        elif tag == ATOM_LINK:
            _channel_link(feed, child)
        elif (key := _feedparser_key(child)) in _FEED_DATE_KEYS:
            _channel_date(feed, child, key)
        elif len(child):
            _check_nested_in_channel(child, key)
    return feed


def _atom_entry(entry: Any) -> Values:
    _check_cdf_attributes(entry)
    if entry.get(RDF_ABOUT) is not None:
        raise NotPlainError("rdf:about on an Atom entry, which feedparser takes for its id")
    values: Values = {}
    _read_children(entry, _ATOM_ENTRY, values, _ATOM_ENTRY_BY_KEY)
    if "link" not in values:
        values["link"] = values.get("guid")  # no alternate link: feedparser links to the id
    if "summary_html" not in values and "content_html" in values:
        values["summary_html"] = values["content_html"]
    return _finish_item(values, entry)


def _atom_set(name: str, *, plain: bool = False) -> Reader:
    """A reader of an Atom element holding text (``plain``: a date or an id, which has no type); any
    attribute feedparser would act on (isPermaLink on an id) leaves the document to feedparser."""
    attributes = _SCOPE_ATTRIBUTES if plain else _TEXT_ATTRIBUTES

    def read(values: Values, element: Any) -> None:
        if name in values or not attributes.issuperset(element.attrib):
            raise NotPlainError(f"repeated {name}, or attributes on it")
        values[name] = _plain(element) if plain else _atom_text(element)
    return read


_atom_title = _titled(_atom_set("title"))


_atom_set_guid = _atom_set("guid", plain=True)


def _atom_id(values: Values, element: Any) -> None:
    _atom_set_guid(values, element)
    values["guid"] = _resolve(element, values["guid"])  # feedparser reads an id as a permalink guid


def _atom_content(values: Values, element: Any) -> None:
    if "content_html" in values or not _TEXT_ATTRIBUTES.issuperset(element.attrib):
        raise NotPlainError("content by reference (src), encoded (mode), or repeated")
    values["content_html"] = _atom_text(element)


def _atom_author(values: Values, element: Any) -> None:
    if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
        raise NotPlainError("text in an author")  # feedparser reads it as the name
    for child in element:
        if child.tag not in _PERSON_PARTS:
            _check_unread(child)  # Blogger's gd:image is nobody's name
        elif len(child):
            raise NotPlainError(f"markup inside {child.tag}")  # a link in it would be the entry's
    names = element.findall(f"{{{ATOM}}}name")
    if not names and next(element.itersiblings(element.tag, preceding=True), None) is not None:
        raise NotPlainError("a nameless author after another")  # feedparser gives it the one before's name
    if len(names) > 1:
        raise NotPlainError("an author with two names")  # feedparser keeps the last
    if names and (text := _plain(names[0])):
        values.setdefault("authors", []).append(text)


def _atom_link(element: Any) -> tuple[str, str]:
    """The link's rel and href; feedparser falls back to the element's text when there is no href."""
    href = element.get("href")
    if not href or len(element) or element.get("url") is not None or element.get("uri") is not None:
        raise NotPlainError("a link without href, with url or uri (which feedparser reads before it), or with "
                            "elements in it (which feedparser reads as the item's or feed's)")
    return element.get("rel", "alternate").lower(), _resolve(element, href)


def _lowered(element: Any, name: str, default: str | None = None) -> str | None:
    """A rel or type attribute as feedparser reads it: lower case (and a link's type text/html unless set)."""
    value: str | None = element.get(name, default)
    return value.lower() if value else value


_ATOM_ENTRY: dict[str, Reader] = {
    ATOM_TITLE: _atom_title,
    f"{{{ATOM}}}id": _atom_id,
    f"{{{ATOM}}}summary": _atom_set("summary_html"),
    f"{{{ATOM}}}published": _atom_set("published_raw", plain=True),
    f"{{{ATOM}}}updated": _atom_set("updated_raw", plain=True),
    f"{{{ATOM}}}content": _atom_content,
    ATOM_LINK: _atom_link_in_item,
    f"{{{ATOM}}}author": _atom_author,
    f"{{{ATOM}}}category": _category, f"{{{DC}}}subject": _category, f"{{{MEDIA}}}keywords": _keywords(None),
}


def _atom_text(element: Any) -> str:
    kind = _lowered(element, "type", "text")
    if kind == "xhtml":
        return _xhtml(element)
    if kind not in ("text", "html"):
        raise NotPlainError(f"atom text of type {kind}")  # media types: feedparser's to read
    return _plain(element)


def _xhtml(element: Any) -> str:
    """Atom xhtml text as feedparser serialises it: tags rebuilt from the parse (every element closed with
    an end tag, attribute names lower case, values quoted with double quotes), text escaped, and the
    enclosing <div> dropped when it holds everything. Anything outside plain XHTML is feedparser's."""
    pieces = [escape(element.text)] if element.text else []
    for child in element:
        _xhtml_pieces(child, pieces, top=True)
        if child.tail:
            pieces.append(escape(child.tail))
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if pieces and (pieces[0] == "<div>" or pieces[0].startswith("<div ")) and pieces[-1] == "</div>" \
            and _encloses(pieces):
        pieces = pieces[1:-1]
    text = "".join(pieces)
    if not text.isascii() and _reads_as_double_encoded(text):
        raise NotPlainError("UTF-8 read as Latin-1 in xhtml")
    return text.strip()


def _xhtml_pieces(element: Any, pieces: list[str], *, top: bool) -> None:
    if not isinstance(element.tag, str):
        raise NotPlainError("a comment or instruction in xhtml")
    name = etree.QName(element)
    if name.namespace != XHTML or name.localname != name.localname.lower():
        raise NotPlainError(f"element {element.tag} in xhtml")
    declared = set(element.nsmap.items()) - set(element.getparent().nsmap.items())
    if any(uri != XHTML for _, uri in declared) or (declared and not top):
        # feedparser writes some declarations out (XLink's) and not others: not modelled here
        raise NotPlainError("a namespace declared inside xhtml")
    attributes = []
    for key, value in element.attrib.items():
        if key.startswith("{") or key != key.lower():
            raise NotPlainError(f"attribute {key} in xhtml")
        attributes.append((key, value.lower() if key in ("rel", "type") else value))
    pieces.append(f"<{name.localname}{''.join(f' {k}={_quoted(v)}' for k, v in attributes)}>")
    if element.text:
        pieces.append(escape(element.text))
    for child in element:
        _xhtml_pieces(child, pieces, top=False)
        if child.tail:
            pieces.append(escape(child.tail))
    pieces.append(f"</{name.localname}>")


def _quoted(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _encloses(pieces: list[str]) -> bool:
    """feedparser's test that the first <div> closes only at the end."""
    depth = 0
    for piece in pieces[:-1]:
        if piece.startswith("</"):
            depth -= 1
            if depth == 0:
                return False
        elif piece.startswith("<") and not piece.endswith("/>"):
            depth += 1
    return True


# --- elements not read here -----------------------------------------------------------------------------

# feedparser's own table of the elements it interprets: its _start_/_end_ handler names, keyed like its
# SAX handler keys them (known namespace prefix, lowercased). An element outside the table is kept by
# feedparser under its own name, out of every field wirefeed reads, so skipping it changes nothing.
_HANDLED = frozenset(name.split("_", 2)[2].lower() for name in dir(_FeedParserMixin)
                     if name.startswith(("_start_", "_end_")))
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
# Handled elements that only fill fields wirefeed does not read (checked by the conformance test).
_UNREAD_FIELDS = frozenset({
    "media_credit", "media_rating", "media_restriction", "media_license",
    "media_player", "media_group", "itunes_explicit", "itunes_block", "itunes_image", "itunes_subtitle",
    "rights", "copyright", "dc_rights", "dc_publisher", "contributor", "dc_contributor",
    "georss_point", "georss_where", "where", "expirationdate",
})  # not source: its title (or text) is the item's provider
_READ_INTO_FIELDS = _HANDLED - _UNREAD_FIELDS
_CAPTION_KEY = "media_description"  # unread, but an item's caption where _read_unread finds it
_MEDIA_KEYS = frozenset({_CAPTION_KEY, "media_title"})
_MEDIA_LINK_KEYS = frozenset({"media_content", "media_thumbnail"})  # the item's media (see media_rss)
# Channel elements that would change the feed's title or ttl, or start content (see _rss_feed).
_CHANNEL_FIELD_KEYS = frozenset({
    "title", "dc_title", "media_title", "ttl", "summary", "content", "fullitem", "body", "xhtml_body",
    "dc_description",
})
# The channel's (or Atom feed's) own dates, by feedparser's key, and the field each fills (the last wins).
_FEED_DATE_KEYS = {
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms_issued"), "published"),
    **dict.fromkeys(("lastbuilddate", "updated", "modified", "dc_date", "dcterms_modified"), "updated"),
}
# ... and, nested in another channel element, its language, links and dates, and the summaries that decide
# how the first item's are read; feedparser reads elements wherever they are, but for an image's and a text
# input's own title, link and description (a date there is the feed's, or the image's when prefixed).
_NESTED_CHANNEL_KEYS = _CHANNEL_FIELD_KEYS | {"language", "dc_language", "link", "description", "itunes_summary",
                                              "content_encoded", *_FEED_DATE_KEYS}
_CHANNEL_CONTAINERS = frozenset({"image", "textinput"})
_CONTAINED_CHANNEL_KEYS = _NESTED_CHANNEL_KEYS - {"title", "link", "description"}
_NESTED_CHANNEL_NAMES = frozenset(key.rpartition("_")[2] for key in _NESTED_CHANNEL_KEYS)


def _feedparser_key(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        raise NotPlainError("an entity reference between elements")
    return _key_by_namespace(tag) or _key(tag, element.prefix)


@functools.lru_cache(maxsize=4096)
def _key_by_namespace(tag: str) -> str | None:
    """The key of an element in no namespace or one feedparser knows; None when the document's prefix
    decides it (reading the element's prefix costs more than this cached lookup)."""
    namespace, _, localname = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    prefix = _PREFIXES.get(namespace.lower())
    if prefix is None:
        return None
    return (f"{prefix}_{localname}" if prefix else localname).lower()


@functools.lru_cache(maxsize=4096)
def _key(tag: str, prefix: str | None) -> str:
    namespace, _, localname = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    prefix = _PREFIXES.get(namespace.lower(), prefix)
    return (f"{prefix}_{localname}" if prefix else localname).lower()


def _check_unread(element: Any) -> None:
    """NotPlainError when feedparser would read this element (or one inside it) into a field wirefeed uses."""
    # Most unread elements are leaves, and an iterator costs more than the check itself.
    if _feedparser_reads(element) or (len(element) and any(map(_feedparser_reads, element.iterdescendants()))):
        raise NotPlainError(f"element {element.tag}, or one inside it, which feedparser reads")


def _read_unread(values: Values, element: Any) -> None:
    """An item's child without a reader: _check_unread's, but a media:description, on its own or in a
    Media RSS element (media:content, media:group), is the item's caption (see media_rss), a
    media:title after the item's title changes nothing, and an Atom source is feedparser's to read."""
    key = _feedparser_key(element)
    if key in _MEDIA_KEYS:
        _media_text(values, element, key)
    elif key == "source":
        raise NotPlainError("an Atom source, whose title (or text) feedparser reads as the item's provider")
    elif not key.startswith("media_") or not (len(element) or key in _MEDIA_LINK_KEYS):
        _check_unread(element)
    else:
        if key in _READ_INTO_FIELDS and key not in _MEDIA_LINK_KEYS:
            raise NotPlainError(f"element {element.tag}, which feedparser reads")
        for inner in element.iter():
            inner_key = key if inner is element else _feedparser_key(inner)
            if inner_key in _MEDIA_KEYS:
                _media_text(values, inner, inner_key)
            elif inner_key in _MEDIA_LINK_KEYS:
                _media_link(values, inner, inner_key)
            elif inner_key in _READ_INTO_FIELDS:
                raise NotPlainError(f"element {inner.tag} in {element.tag}, which feedparser reads")


def _media_link(values: Values, element: Any, key: str) -> None:
    """A media:content or media:thumbnail's attributes as feedparser keeps them: names in lower case, the
    type too. feedparser also takes a thumbnail's URL from its text, which is left to it."""
    attributes = {name.lower(): value for name, value in element.items()}
    if len(attributes) != len(element.attrib):
        raise NotPlainError(f"attributes of {element.tag} that differ only in case")
    if key == "media_thumbnail" and (len(element) or (element.text or "").strip()):
        raise NotPlainError("a media:thumbnail with text")
    if "type" in attributes:
        attributes["type"] = attributes["type"].lower()
    values.setdefault(key, []).append(attributes)


def _media_text(values: Values, element: Any, key: str) -> None:
    if key == _CAPTION_KEY:
        _caption(values, element)
    elif not values.get("title") or values.get("title_depth_reset") or len(element):
        # feedparser ignores a media:title (at any depth) once the item's own title is set; before it,
        # without one, or after a source or an item's image (where feedparser forgets the title's depth),
        # it is the title until a shallower title replaces it: not modelled here.
        raise NotPlainError(f"{element.tag} before the title, or markup in it")


def _caption(values: Values, element: Any) -> None:
    if not _TEXT_ATTRIBUTES.issuperset(element.attrib):
        raise NotPlainError(f"attributes on {element.tag}")
    text = _plain(element)
    if text and "caption" not in values:
        values["caption"] = media_rss.as_summary(text, element.get("type"))


def _feedparser_reads(element: Any) -> bool:
    return _feedparser_key(element) in _READ_INTO_FIELDS


# --- text ---------------------------------------------------------------------------------------------

def _plain(element: Any) -> str:
    """The element's text; markup inside a text element is feedparser's to interpret."""
    if len(element):
        raise NotPlainError(f"markup inside {element.tag}")
    text = element.text or ""
    if not text.isascii() and _reads_as_double_encoded(text):
        raise NotPlainError(f"UTF-8 read as Latin-1 in {element.tag}")
    return text.strip()


# Non-ASCII UTF-8 read as Latin-1 always shows a lead byte (Â..ô) right before a continuation byte: a text
# without that pair cannot decode as UTF-8 differently, whatever else it holds.
_UTF8_AS_LATIN1 = re.compile("[\xc2-\xf4][\x80-\xbf]")
# Below this length a regex scan for that pair is the cheaper test; above it, trying the round trip is:
# it stops at the first character that rules it out, where the scan reads the whole text.
_SCAN_BELOW = 200


def _reads_as_double_encoded(text: str) -> bool:
    """Whether feedparser would re-decode the text as UTF-8 read as Latin-1 ("cafÃ©" -> "café").

    It does so to every element's text in a UTF-8 document, before or after stripping it: both are checked.
    An ASCII text decodes to itself, so only a non-ASCII one can change. A windows-1252 document is not
    UTF-8 to feedparser, but declining there too only costs speed.
    """
    if len(text) < _SCAN_BELOW and not _UTF8_AS_LATIN1.search(text):
        return False
    for candidate in (text, text.strip()):
        if candidate.isascii():
            continue
        try:
            candidate.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):  # no Latin-1 round trip, or not UTF-8
            continue
        return True
    return False


def _language(element: Any) -> str | None:
    """The xml:lang in scope, as feedparser tracks it: a plain lang attribute counts too."""
    while element is not None:
        lang = element.get(XML_LANG)
        if lang is None:
            lang = element.get("lang")
        if lang is not None:
            return str(lang)
        element = element.getparent()
    return None


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


# Built last: the keys come from feedparser's namespace table, read above.
_RSS_ITEM_BY_KEY = _keyed(_RSS_ITEM)
_ATOM_ENTRY_BY_KEY = _keyed(_ATOM_ENTRY)
_RSS_CHANNEL_BY_KEY = _keyed(_RSS_CHANNEL)
