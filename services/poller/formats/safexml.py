"""Parsing untrusted XML: no entity expansion, no DTD or network access, bounded nesting depth.

Feeds come from the open internet, so a document may try an entity-expansion bomb ("billion laughs"),
an external entity that reads a local file or URL (XXE), or deep nesting that exhausts memory. Any
DOCTYPE that declares entities is refused outright, before any parser sees it: no feed or wire format
we read needs its own entities, and refusing is simpler to trust than expanding safely. So is an entity
declaration anywhere else before the root element, even inside a comment: feedparser collects every
line starting with ``<!ENTITY`` before the first element, comments included, and its loose parser
expands them (a 75 KB body became a 300 MB summary).

An element of more than MAX_ATTRIBUTES attributes is refused before feedparser reads it: its SAX parser
takes time quadratic in their number (40,000 on one element, 40 s); no feed needs more than a few.
"""

from __future__ import annotations

import codecs
import contextlib
import html.entities
import re
import threading

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from services.poller.formats.base import FeedParseError

# libxml2 refuses deeper documents unless XML_PARSE_HUGE is set, which huge_tree=False keeps off.
MAX_DEPTH = 256
# Attributes (namespace declarations included) one element may have, for feedparser's strict parser.
MAX_ATTRIBUTES = 256
# How much of a document is decoded to find its prolog and root element.
SNIFF_BYTES = 64 * 1024
_DEPTH_MESSAGE = "Excessive depth in document"
_UNDEFINED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
# An element's start as feedparser's replace_doctype finds it: "<" and a word character (ASCII, in bytes).
_ELEMENT_START = re.compile(r"<[A-Za-z0-9_]")
# A start tag with more than MAX_ATTRIBUTES well-formed attributes (values quoted, so a ">" in a value
# does not end the tag): possessive and atomic, so a tag is scanned once and never backtracked into.
_ATTRIBUTE = rb"""\s++[^\s=<>/"']++\s*+=\s*+(?:"[^"]*+"|'[^']*+')"""
_CROWDED_TAG = re.compile(rb"<[^\s<>/!?][^\s<>/]*+(?>" + _ATTRIBUTE + rb"){%d}" % (MAX_ATTRIBUTES + 1))
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_LATIN1_NAMES = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "windows-1252", "cp1252"})
_THREAD = threading.local()
# The first bytes of every byte order mark, and of UTF-16/32 text starting with an ASCII character.
_BOM_OR_NUL_STARTS = frozenset({b"\xef", b"\xfe", b"\xff", b"\x00"})


class UnsafeXMLError(FeedParseError):
    """The document uses an XML feature that is refused for safety (entity declarations)."""


class XMLTooDeepError(UnsafeXMLError):
    """The document nests elements deeper than MAX_DEPTH."""


class TooManyAttributesError(UnsafeXMLError):
    """An element of the document has more than MAX_ATTRIBUTES attributes."""


class MalformedXMLError(FeedParseError):
    """The document is not well-formed XML."""


def strict_parser(encoding: str | None = None) -> etree.XMLParser:
    # A parser per call: lxml parsers keep state and are not safe to share between threads.
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        strip_cdata=True,
    )


def thread_strict_parser() -> etree.XMLParser:
    """This thread's strict parser, for hot paths: building a parser costs a share of parsing a small feed."""
    parser = getattr(_THREAD, "strict_parser", None)
    if parser is None:
        parser = _THREAD.strict_parser = strict_parser()
    return parser


def decode_for_sniffing(body: bytes, limit: int | None = None) -> str:
    """The document as text, good enough to find markup: BOM or NUL patterns reveal UTF-16/32.

    Everything else is read as Latin-1, which never fails and keeps every ASCII character in place;
    markup is ASCII in every encoding a feed realistically uses. With a limit, only that many bytes of
    the document are decoded.
    """
    body = body[:limit] if limit else body
    if body[:1] not in _BOM_OR_NUL_STARTS and body[1:2] != b"\x00":
        return body.decode("latin-1")  # no BOM, and not UTF-16/32: the common case, decided cheaply
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                       (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace")
    head = body[:4]
    if head[:3] == b"\x00\x00\x00" or head[1:] == b"\x00\x00\x00":
        return body.decode("utf-32-be" if head[0] == 0 else "utf-32-le", errors="replace")
    if head[:1] == b"\x00" or head[1:2] == b"\x00":
        return body.decode("utf-16-be" if head[0] == 0 else "utf-16-le", errors="replace")
    return body.decode("latin-1")


def _prolog_end(text: str) -> int:
    """Where the DOCTYPE or root element starts: past the XML declaration, comments, PIs and stray text."""
    pos = 0
    while pos < len(text):
        if text[pos] != "<":
            # Whitespace, or junk a lenient parser might skip: look at the next markup instead.
            pos = text.find("<", pos)
            if pos < 0:
                return len(text)
        for opener, closer in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(opener, pos):
                end = text.find(closer, pos + len(opener))
                pos = len(text) if end < 0 else end + len(closer)
                break
        else:
            return pos
    return pos


def declares_entities(text: str) -> bool:
    """Whether the document declares an entity where some parser could take it up: before the root
    element, in a DOCTYPE, a comment or stray text alike."""
    return _ENTITY_DECLARATION.search(text, 0, _declarations_end(text)) is not None


def _declarations_end(text: str) -> int:
    """How far into the text an entity declaration counts.

    With a DOCTYPE, to the end: where its internal subset ends cannot be found without parsing it (a
    quoted "]>" in an earlier declaration can hide the rest); the rare casualty is a document with a
    DOCTYPE whose text quotes "<!ENTITY". Without one, to the first element past the comments and PIs:
    feedparser's prolog ends no later (it stops at the first "<" and word character, even in a comment).
    """
    start = _prolog_end(text)
    if _DOCTYPE.match(text, start):
        return len(text)
    root = _ELEMENT_START.search(text, start)
    return len(text) if root is None else root.start()


def reject_entity_declarations(body: bytes) -> None:
    """Refuse a document declaring entities before its root element (see declares_entities).

    Decoding only the head keeps the common case cheap: the root element starting early in the document
    with no DOCTYPE before it. Anything unclear there decodes the whole body.
    """
    text = decode_for_sniffing(body, SNIFF_BYTES)
    end = _declarations_end(text)
    if len(body) > SNIFF_BYTES and end > len(text) - len("<!DOCTYPE"):
        text = decode_for_sniffing(body)
        end = _declarations_end(text)
    if _ENTITY_DECLARATION.search(text, 0, end) is not None:
        raise UnsafeXMLError("the document declares entities before its root element, which are refused")


def check_attribute_counts(text: bytes) -> None:
    """Refuse a document (UTF-8, or any encoding that keeps ASCII in place) with an element of more than
    MAX_ATTRIBUTES attributes; a tag-like run in a comment or CDATA counts too. One pass over the text."""
    if _CROWDED_TAG.search(text) is not None:
        raise TooManyAttributesError(f"an element of the document has more than {MAX_ATTRIBUTES} attributes")


def parse_xml(body: bytes) -> etree._Element:
    """The root element of a well-formed document, parsed with every dangerous feature off."""
    reject_entity_declarations(body)
    try:
        return _parse(body)
    except etree.XMLSyntaxError as exc:
        if "Entity '" not in str(exc):
            raise _translate(exc) from exc
    # Wire copy often uses HTML entities such as &nbsp; without declaring them; as they are not
    # declared (declarations were refused above) they are safe to rewrite as character references.
    try:
        return _parse(_numeric_html_entities(body))
    except etree.XMLSyntaxError as exc:
        raise _translate(exc) from exc


def _parse(body: bytes) -> etree._Element:
    root = etree.fromstring(body, strict_parser(_utf8_mislabelled_as_latin1(body)))
    if root is None:
        raise MalformedXMLError("the document has no root element")
    return root


def _utf8_mislabelled_as_latin1(body: bytes) -> str | None:
    """"utf-8" when a document declared Latin-1 (or cp1252) is really UTF-8, as agency feeds often are.

    Latin-1 text with accented letters is practically never valid UTF-8, so a strict UTF-8 decode that
    succeeds on non-ASCII bytes tells the two apart.
    """
    declared = _DECLARED_ENCODING.match(body)
    if declared is None or declared.group(1).lower().decode() not in _LATIN1_NAMES or body.isascii():
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _translate(exc: etree.XMLSyntaxError) -> FeedParseError:
    if _DEPTH_MESSAGE in str(exc):
        return XMLTooDeepError(f"the document nests elements deeper than {MAX_DEPTH} levels")
    return MalformedXMLError(f"not well-formed XML: {exc}")


def _numeric_html_entities(body: bytes) -> bytes:
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in body[:4]:
        return body  # UTF-16/32: rare enough on the wire that undeclared entities there stay an error
    # Latin-1 maps bytes 1:1, so every byte outside the rewritten ASCII references survives unchanged.
    text = body.decode("latin-1")
    return _UNDEFINED_ENTITY.sub(_entity_reference, text).encode("latin-1")


def _entity_reference(match: re.Match[str]) -> str:
    name = match.group(1)
    codepoint = html.entities.name2codepoint.get(name)
    if name in _XML_ENTITIES or codepoint is None:
        return match.group(0)
    return f"&#{codepoint};"


def check_depth(body: bytes) -> etree._Element | None:
    """Refuse documents nested deeper than MAX_DEPTH, even ill-formed ones a lenient parser would read.

    Returns the leniently parsed root (None if even recovery found none), for callers that want it.
    """
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    root = None
    # Not XML enough even for recovery: the caller's own, more lenient parser decides what to make of it.
    with contextlib.suppress(etree.XMLSyntaxError):
        root = etree.fromstring(body, parser)
    if any(_DEPTH_MESSAGE in entry.message for entry in parser.error_log):
        raise XMLTooDeepError(f"the document nests elements deeper than {MAX_DEPTH} levels")
    return root
