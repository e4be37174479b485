"""Hostile XML: entity-expansion bombs, external entities (XXE) and deep nesting, in every XML format."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import FeedFormat
from services.poller.formats import FeedParseError, ParsedFeed, UnsafeXMLError, XMLTooDeepError
from services.poller.formats.safexml import MAX_DEPTH, declares_entities, parse_xml

Parse = Callable[..., ParsedFeed]
PASSWD = Path("/etc/passwd")
NAR = "http://iptc.org/std/nar/2006-10-01/"

# One minimal document per XML format; {doctype} goes before the root, {text} into a text field.
DOCUMENTS = {
    FeedFormat.RSS: '<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>t</title>'
                    "<item><guid>g1</guid><title>{text}</title></item></channel></rss>",
    FeedFormat.ATOM: '<?xml version="1.0"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
                     "<entry><id>g1</id><title>{text}</title></entry></feed>",
    FeedFormat.NEWSML_G2: '<?xml version="1.0"?>{doctype}<newsItem xmlns="' + NAR + '" guid="g1"><itemMeta>'
                          "<pubStatus qcode='stat:usable'/></itemMeta><contentMeta><headline>{text}</headline>"
                          "</contentMeta></newsItem>",
    FeedFormat.NITF: '<?xml version="1.0"?>{doctype}<nitf><head><docdata><doc-id id-string="g1"/></docdata>'
                     "</head><body><body.head><hedline><hl1>{text}</hl1></hedline></body.head></body></nitf>",
    FeedFormat.NEWSML_1: '<?xml version="1.0"?>{doctype}<NewsML><NewsItem><Identification><NewsIdentifier>'
                         "<PublicIdentifier>g1</PublicIdentifier></NewsIdentifier></Identification>"
                         "<NewsComponent><NewsLines><HeadLine>{text}</HeadLine></NewsLines></NewsComponent>"
                         "</NewsItem></NewsML>",
}
ROOTS = {FeedFormat.RSS: "rss", FeedFormat.ATOM: "feed", FeedFormat.NEWSML_G2: "newsItem",
         FeedFormat.NITF: "nitf", FeedFormat.NEWSML_1: "NewsML"}
BILLION_LAUGHS = (
    '<!DOCTYPE {root} [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
XXE = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
XXE_PARAMETER = '<!DOCTYPE {root} [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>'
EXTERNAL_SUBSET = '<!DOCTYPE {root} SYSTEM "file:///etc/passwd">'
# A DOCTYPE commented out, as lxml reads it; feedparser took the entity up anyway and expanded it.
COMMENTED_DOCTYPE = '\n<!--\n<!DOCTYPE {root} [\n<!ENTITY a "HELLO">\n]>\n-->\n'


def _document(fmt: FeedFormat, doctype: str, text: str) -> bytes:
    return DOCUMENTS[fmt].format(doctype=doctype.format(root=ROOTS[fmt]), text=text).encode()


def _passwd_marker() -> str:
    """A line of /etc/passwd that would betray a leak (its first line, normally root's)."""
    lines = PASSWD.read_text().splitlines() if PASSWD.exists() else []
    return lines[0] if lines else "root:x:0:0"


@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_billion_laughs_is_refused_quickly(fmt: FeedFormat, parse: Parse) -> None:
    started = time.monotonic()
    with pytest.raises(UnsafeXMLError):
        parse(_document(fmt, BILLION_LAUGHS, "&lol9;"))
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("doctype", [XXE, XXE_PARAMETER], ids=["general-entity", "parameter-entity"])
@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_external_entities_are_refused_and_never_read(fmt: FeedFormat, doctype: str, parse: Parse) -> None:
    with pytest.raises(UnsafeXMLError) as raised:
        parse(_document(fmt, doctype, "&xxe;"))
    assert _passwd_marker() not in str(raised.value)


@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_an_external_dtd_is_not_loaded(fmt: FeedFormat, parse: Parse) -> None:
    """A DOCTYPE naming a local file (no entity declarations) is harmless: nothing is loaded from it."""
    try:
        feed = parse(_document(fmt, EXTERNAL_SUBSET, "title"))
    except FeedParseError as exc:  # a typed error is an acceptable outcome too
        assert _passwd_marker() not in str(exc)
        return
    assert _passwd_marker() not in repr(feed)
    assert [item.title for item in feed.items] == ["title"]


@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_undeclared_entity_after_external_dtd_does_not_leak(fmt: FeedFormat, parse: Parse) -> None:
    try:
        feed = parse(_document(fmt, EXTERNAL_SUBSET, "a &xxe; b"))
    except FeedParseError as exc:
        assert _passwd_marker() not in str(exc)
        return
    assert _passwd_marker() not in repr(feed)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_deep_nesting_is_refused(fmt: FeedFormat, depth: int, parse: Parse) -> None:
    nested = "<x>" * depth + "</x>" * depth
    with pytest.raises(XMLTooDeepError):
        parse(_document(fmt, "", nested), fmt=fmt)


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1
    assert parse_xml(("<a>" * depth + "</a>" * depth).encode()) is not None


def test_utf16_bombs_are_recognized(parse: Parse) -> None:
    body = _document(FeedFormat.RSS, BILLION_LAUGHS, "&lol9;").decode().replace(
        'version="1.0"?>', 'version="1.0" encoding="utf-16"?>', 1).encode("utf-16")
    with pytest.raises(UnsafeXMLError):
        parse(body)


def test_entity_text_inside_content_is_not_mistaken_for_a_declaration(parse: Parse) -> None:
    """Only the prolog's DOCTYPE counts; an article about XML may quote <!ENTITY in its text."""
    feed = parse(_document(FeedFormat.RSS, "", "<![CDATA[Beware <!ENTITY x SYSTEM 'file:///'>]]>"))
    assert feed.items[0].title is not None and "ENTITY" in feed.items[0].title


@pytest.mark.parametrize("fmt", list(DOCUMENTS))
def test_an_entity_declared_in_a_comment_before_the_root_is_refused(fmt: FeedFormat, parse: Parse) -> None:
    # feedparser collects "<!ENTITY" lines before the first element, comments included, and its loose
    # parser expanded them: 75 KB of such a feed became a 300 MB summary.
    with pytest.raises(UnsafeXMLError):
        parse(_document(fmt, COMMENTED_DOCTYPE, "&a;&a;&a;"))


@pytest.mark.parametrize(("declaration", "content_type"), [
    ('<?xml version="1.0" encoding="utf-7"?>', None),
    ('<?xml version="1.0"?>', "application/rss+xml; charset=utf-7"),
], ids=["declared", "http-charset"])
def test_an_entity_declared_in_an_encoding_only_feedparser_reads_is_refused(
        declaration: str, content_type: str | None, parse: Parse) -> None:
    # In UTF-7 "+ADwAIQ-" is "<!": the body as received holds a harmless comment, feedparser's reading of
    # it a DOCTYPE declaring an entity, which feedparser expanded.
    utf7_doctype = '\n<!--\n+ADwAIQ-DOCTYPE rss [\n+ADwAIQ-ENTITY a "HELLO">\n]>\n-->\n'
    assert "<!ENTITY" in utf7_doctype.encode().decode("utf-7")
    body = _document(FeedFormat.RSS, utf7_doctype, "&a;&a;&a;").replace(b'<?xml version="1.0"?>', declaration.encode())
    with pytest.raises(UnsafeXMLError):
        parse(body, content_type=content_type)


def test_an_entity_declared_in_a_comment_is_refused_however_far_into_the_prolog() -> None:
    """Past the head decoded to find the root (64 KiB), the whole document is looked at."""
    padding = "<!--" + "x" * 70_000 + "-->\n"
    body = _document(FeedFormat.RSS, padding + COMMENTED_DOCTYPE, "&a;").decode().encode("utf-16")
    with pytest.raises(UnsafeXMLError):
        parse_xml(body)


@pytest.mark.parametrize(("prolog", "declares"), [
    ("<!DOCTYPE rss>", False),
    ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://x/rss.dtd">', False),
    ('<!-- a comment with <!ENTITY inside --><rss/>', True),  # feedparser reads comments' declarations
    ('<!-- <a> -->\n<!ENTITY a "b">\n<rss/>', True),  # stray, but before the root element
    ('<rss><!-- <!ENTITY a "b"> --></rss>', False),  # past the root element: text, to every parser
    ('<?xml version="1.0"?>\n<rss version="2.0"/>\n<!ENTITY a "b">', False),
    ('<?xml version="1.0"?>\n<!-- c -->\n<!doctype rss [<!entity a "b">]>', True),
    ('<!DOCTYPE rss [<!ELEMENT rss ANY>\n<!ENTITY a "b">]>', True),
    ('<!DOCTYPE rss [<!ENTITY a "unterminated', True),
    ('<!DOCTYPE rss [<!ATTLIST rss v CDATA "]>"><!ENTITY a "hidden after a quoted ]>">]>', True),
    ('junk before <!DOCTYPE rss [<!ENTITY a "b">]>', True),
])
def test_entity_declaration_detection(prolog: str, declares: bool) -> None:
    assert declares_entities(prolog) is declares


def test_malformed_xml_is_a_typed_error(parse: Parse) -> None:
    with pytest.raises(FeedParseError):
        parse(b"<nitf><head></nitf>")


@pytest.mark.parametrize("fmt", [FeedFormat.RSS, FeedFormat.ATOM, None])
def test_a_body_naming_a_local_file_is_never_read_from_disk(
        fmt: FeedFormat | None, parse: Parse, tmp_path: Path) -> None:
    """feedparser takes a bytes argument for a file name when it can open it: a server answering with a
    path must get a parse error, not the file's items."""
    local = tmp_path / "local.xml"
    local.write_text(DOCUMENTS[FeedFormat.RSS].format(doctype="", text="LOCAL SECRET"))
    try:
        feed = parse(str(local).encode(), fmt=fmt)
    except FeedParseError as exc:
        assert "LOCAL SECRET" not in str(exc)
        return
    assert feed.items == []
    assert "LOCAL SECRET" not in repr(feed)
