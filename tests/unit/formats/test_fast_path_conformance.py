"""The fast RSS/Atom reading yields the same RawItems as feedparser, on every corpus feed it accepts.

services/poller/formats/rss_fast.py serves the hot path only for documents it models exactly; this test
is what "exactly" means. Every XML file of the corpus goes through both readings; wherever the fast one
accepts a document, each feed field and each item field must equal feedparser's, including the item id
and content hash (so switching a feed between the two readings publishes nothing again).

One accepted difference: for a document that declares no encoding and is not UTF-8, both readings decode
the text as windows-1252 (feedparser's fallback), but the reference's RawItem.original is cut from lxml's
recovering parse, which reads the bytes as UTF-8 and leaves replacement characters; the fast reading's
fragment is the decoded text.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_poller import REAL_FEEDS
from services.poller.formats import FeedContext, FeedParseError, ParsedFeed
from services.poller.formats.rss_atom import parse_reference, parse_rss_atom, prepared
from services.poller.formats.rss_fast import SINGLE_BYTE_ENCODINGS, parse_plain_feed
from services.poller.formats.safexml import strict_parser
from tests.unit.formats.test_corpus_feedparser import served_content_type

CTX = FeedContext(feed_id="f", feed_url="http://example.com/feed", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
FEED_FIELDS = ("format", "title", "ttl_seconds", "next_page_url", "hub_url", "self_url")
ITEM_FIELDS = ("item_id", "content_hash", "guid", "link", "canonical_link", "title", "summary_html",
               "content_html", "published_raw", "updated_raw", "authors", "categories", "language", "feed_language",
               "feed_dates_raw", "enclosures", "providers")
SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ""}


def _documents(corpus: Path) -> list[Path]:
    return [p for p in sorted(corpus.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES]


def both_readings(body: bytes) -> tuple[ParsedFeed, ParsedFeed] | None:
    """(fast, reference) ParsedFeeds, or None when the fast reading declines or the document is refused.

    feedparser's corpus files carry the HTTP Content-Type they are served with; it decides their charset.
    Both readings get what parse_rss_atom hands them (``prepared``): legacy encodings detected and made UTF-8,
    whitespace before the XML declaration dropped.
    """
    content_type = served_content_type(body)
    try:
        body = prepared(body, content_type)
        if parse_plain_feed(body, content_type, strict_parser()) is None:
            return None
        return parse_rss_atom(body, CTX, content_type), parse_reference(body, CTX, content_type)
    except FeedParseError:
        return None


def test_fast_reading_equals_feedparser_on_every_corpus_feed_it_accepts(corpus: Path) -> None:
    compared: Counter[str] = Counter()
    differences = []
    for path in _documents(corpus):
        readings = both_readings(path.read_bytes())
        if readings is None:
            continue
        fast, reference = readings
        compared["documents"] += 1
        for name in FEED_FIELDS:
            if getattr(fast, name) != getattr(reference, name):
                differences.append((path.name, name, getattr(reference, name), getattr(fast, name)))
        fast_items, reference_items = fast.items, reference.items
        if len(fast_items) != len(reference_items):
            differences.append((path.name, "item count", len(reference_items), len(fast_items)))
            continue
        for index, (ours, theirs) in enumerate(zip(fast_items, reference_items, strict=True)):
            compared["items"] += 1
            for name in ITEM_FIELDS:
                compared["fields"] += 1
                if getattr(ours, name) != getattr(theirs, name):
                    differences.append((f"{path.name}#{index}", name, getattr(theirs, name), getattr(ours, name)))
    print(f"fast reading vs feedparser: {dict(compared)}, {len(differences)} differences")
    assert not differences, "\n".join(map(str, differences[:20]))
    assert compared["documents"] > 1000 and compared["items"] > 1000  # the fast path really is exercised


def test_news_feeds_of_the_benchmark_take_the_fast_path(corpus: Path) -> None:
    declined = [name for name in REAL_FEEDS
                if parse_plain_feed((corpus / name).read_bytes(), None, strict_parser()) is None]
    assert declined == []


# Text feedparser rewrites on its way out, in shapes the corpus does not hold: C1 references written with
# leading zeros (mapped to cp1252), and UTF-8 read as Latin-1 and encoded again ("cafÃ©", repaired to
# "café"), whether written as bytes or as character references; long texts too, which are tested another way.
@pytest.mark.parametrize("text", ["&#0128; 5", "&#x0080; 5", "&#00x80;", "café", "cafÃ©", "caf&#195;&#169;",
                                  "caf&#xC3;&#xa9;", "caf&#195;\u00a9", "ÃÃ© and more", "naïve Ã©",
                                  "Ã", "&#233;t&#233;", "déjà vu", "cafÃ© " * 50, "déjà vu, “quoted” " * 20,
                                  "a" * 250 + "\u00a0", "\u2003" + "cafÃ© " * 50 + "\u2003", "€ cafÃ© " * 40])
def test_fast_reading_equals_feedparser_where_feedparser_rewrites_text(text: str) -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>{text}</title><description>{text}</description><guid>g</guid></item>"
            "</channel></rss>").encode()
    readings = both_readings(body)
    if readings is None:  # declined: feedparser reads it, so nothing can differ
        return
    fast, reference = readings
    assert [(i.title, i.summary_html) for i in fast.items] == [(i.title, i.summary_html) for i in reference.items]


# xml:base, as WordPress writes it on the root, and as Blogger and FeedBurner write it on each content
# element (whose base feedparser keeps in force after it when the enclosing element has none).
@pytest.mark.parametrize("body", [
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://ex.org/blog/">'
    b'<title>t</title><link rel="self" href="feed.atom"/><entry><id>posts/1</id><title>a</title>'
    b'<link href="2024/a"/><link rel="enclosure" href="a.mp3" length="1" type="audio/mpeg"/>'
    b'<category term="x"/><category term="x"/><category>y</category></entry></feed>',
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
    b'<entry><id>1</id><title>a</title><content type="html" xml:base="http://ex.org/a/">&lt;p&gt;x&lt;/p&gt;'
    b'</content><link href="rel/a"/></entry><entry><id>2</id><title>b</title><link href="rel/b"/></entry></feed>',
    b'<?xml version="1.0"?><rss version="2.0" xml:base="http://ex.org/"><channel><title>t</title><item>'
    b'<title>a</title><link>news/a</link><guid>news/a</guid><enclosure url="a.mp3" length="1" type="audio/mpeg"/>'
    b'</item><item><title>b</title><guid isPermaLink="false">b-1</guid></item></channel></rss>',
])
def test_the_fast_reading_resolves_links_against_xml_base_as_feedparser_does(body: bytes) -> None:
    readings = both_readings(body)
    assert readings is not None  # taken by the fast reading, not declined
    fast, reference = readings
    assert fast == reference
    assert any(item.link and item.link.startswith("http://ex.org/") for item in fast.items)


def test_whitespace_before_the_xml_declaration_is_dropped_for_both_readings() -> None:
    body = (b'\n  <?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            b'<entry><id>urn:1</id><title>a &amp; b</title><category>c</category></entry></feed>')
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference
    assert (fast.items[0].title, fast.items[0].categories) == ("a & b", ["c"])


def _every_character_of(encoding: str) -> bytes:
    """Each byte above ASCII that ``encoding`` defines as a character other than a C1 control (windows-1252's
    0x80 is "€", ISO 8859-1's is a control)."""
    defined = []
    for byte in range(0x80, 0x100):
        try:
            character = bytes([byte]).decode(encoding)
        except UnicodeDecodeError:
            continue
        if not "\x80" <= character <= "\x9f":
            defined.append(byte)
    return bytes(defined)


@pytest.mark.parametrize("encoding", sorted(SINGLE_BYTE_ENCODINGS))
def test_a_declared_single_byte_encoding_reads_alike_in_both_readings(encoding: str) -> None:
    text = _every_character_of(encoding)
    body = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title><item>'
            f"<title>".encode() + text + b"</title><description>" + text + b"</description><guid>g</guid>"
            b"</item></channel></rss>")
    readings = both_readings(body)
    assert readings is not None  # taken by the fast reading
    fast, reference = readings
    assert fast == reference
    assert fast.items[0].title == text.decode(encoding).strip()  # a leading no-break space is trimmed


@pytest.mark.parametrize("byte", [b"\x80", b"\x9f"])
def test_a_c1_byte_in_a_latin_1_document_is_left_to_feedparser(byte: bytes) -> None:
    body = (b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title><item>'
            b"<title>5 " + byte + b"</title><guid>g</guid></item></channel></rss>")
    assert parse_plain_feed(body, None, strict_parser()) is None  # feedparser reads it as windows-1252


@pytest.mark.parametrize("elements", [
    b"<category>a</category><category>a</category><category domain='d'>a</category>",  # a repeat kept once
    b"<dc:subject>x</dc:subject><category>y</category>",
    b"<itunes:keywords>one, two,,one</itunes:keywords><media:keywords>two, three</media:keywords>",
])
def test_categories_are_feedparser_s_tags_in_the_fast_reading(elements: bytes) -> None:
    body = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            b'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/">'
            b"<channel><title>t</title><item><title>a</title><guid>g</guid>" + elements + b"</item></channel></rss>")
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference and fast.items[0].categories


@pytest.mark.parametrize("version", ["0.91", "0.92", "0.93", "0.94"])
def test_rss_0_9x_takes_the_fast_reading_as_2_0_does(version: str) -> None:
    body = (f'<?xml version="1.0"?><rss version="{version}"><channel><title>t</title><language>en</language>'
            "<item><title>a</title><link>http://ex.org/a</link><description>d</description></item>"
            "</channel></rss>").encode()
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference and fast.items[0].link == "http://ex.org/a"


_XHTML_ENTRY = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                'xmlns:xhtml="http://www.w3.org/1999/xhtml"><title>t</title><entry><id>urn:1</id>{}</entry></feed>')


@pytest.mark.parametrize(("element", "taken"), [
    ('<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <em>b</em> &amp; c</div></title>', True),
    ('<content type="xhtml"> <div xmlns="http://www.w3.org/1999/xhtml"><p>Hi <a href="/x?a=1&amp;b=2" '
     "title='q\"x' rel=\"Nofollow\">link</a><br/>line</p><img src=\"i.png\" alt=\"\"/></div> </content>", True),
    ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">a</div><div '
     'xmlns="http://www.w3.org/1999/xhtml">b</div></content>', True),  # two blocks: the divs stay
    ('<content type="xhtml"><p xmlns="http://www.w3.org/1999/xhtml">no div</p></content>', True),
    ('<content type="xhtml"><xhtml:div><xhtml:p>prefixed</xhtml:p></xhtml:div></content>', True),
    ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>1</p></div><!-- c --></content>', True),
    ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p CLASS="x">1</p></div></content>', False),
    ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg"/>'
     "</div></content>", False),
])
def test_atom_xhtml_text_reads_as_feedparser_serialises_it(element: str, taken: bool) -> None:
    entry = element if "<title" in element else f"<title>a</title>{element}"
    readings = both_readings(_XHTML_ENTRY.format(entry).encode())
    assert (readings is not None) == taken  # what the fast reading does not model is feedparser's to read
    if readings is not None:
        fast, reference = readings
        assert fast == reference


# An aggregator's source names the publisher; a media:title after the item's title is ignored by feedparser,
# unless a source or an item's image came between (feedparser forgets the title's depth there and takes
# the media:title).
@pytest.mark.parametrize(("item", "title", "taken"), [
    ('<title>T</title><source url="http://s.example/">Reuters</source>', "T", True),
    ("<title>T</title><media:title>M</media:title>", "T", True),
    ('<title>T</title><media:title>M</media:title><source url="http://s.example/">Reuters</source>', "T", True),
    ('<title>T</title><source url="http://s.example/">Reuters</source><media:title>M</media:title>', "M", False),
    ("<media:title>M</media:title><title>T</title>", "T", False),
    ("<title>T</title><image><url>i.png</url><title>I</title><link>http://ex.org/</link></image>", "T", True),
    ("<title>T</title><image><title>I</title></image><media:title>M</media:title>", "M", False),
    ("<image><title>I</title></image><title>T</title>", "T", False),
    ('<title xml:lang="de">T</title><image><title>I</title></image>', "T", False),  # the image's would be used
])
def test_sources_images_and_media_titles_read_as_feedparser_reads_them(item: str, title: str, taken: bool) -> None:
    body = (f'<?xml version="1.0"?><rss version="2.0" {_NAMESPACES}><channel><title>t</title><item>{item}</item>'
            "</channel></rss>").encode()
    reference = parse_reference(body, CTX).items[0]
    assert reference.title == title
    assert reference.providers == (["Reuters"] if "source" in item else [])
    readings = both_readings(body)
    assert (readings is not None) == taken
    if readings is not None:
        assert readings[0] == readings[1]


# feedparser names an element by its namespace's prefix: its own for a namespace it knows (in any case),
# the document's for one it does not. Dublin Core without its final slash is still dc:creator under the
# prefix dc, and nothing under another prefix.
@pytest.mark.parametrize(("namespace", "element", "authors"), [
    ('xmlns:dc="http://purl.org/dc/elements/1.1"', "<dc:creator>Jane Doe</dc:creator>", ["Jane Doe"]),
    ('xmlns:x="http://purl.org/dc/elements/1.1"', "<x:creator>Jane Doe</x:creator>", []),
    ('xmlns:itunes="http://www.itunes.com/DTDs/Podcast-1.0.dtd"', "<itunes:author>Jane Doe</itunes:author>",
     ["Jane Doe"]),
    ('xmlns:dc="http://purl.org/dc/elements/1.1"', "<dc:language>de</dc:language>", []),  # the channel's
])
def test_elements_are_named_as_feedparser_names_them(namespace: str, element: str, authors: list[str]) -> None:
    channel, item = (element, "") if "language" in element else ("", element)
    body = (f'<?xml version="1.0"?><rss version="2.0" {namespace}><channel><title>t</title>{channel}<item>'
            f"<title>a</title>{item}</item></channel></rss>").encode()
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference and fast.items[0].authors == authors
    assert fast.items[0].feed_language == ("de" if channel else None)


def test_atom_dates_in_an_rss_item_read_as_feedparser_reads_them() -> None:
    # Medium's feeds: pubDate, then atom:updated for the last edit.
    body = (b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t'
            b"</title><item><title>a</title><guid>g</guid><pubDate>Mon, 19 Nov 2018 08:10:26 GMT</pubDate>"
            b"<atom:updated>2018-11-19T08:42:59.267Z</atom:updated></item></channel></rss>")
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference
    assert (fast.items[0].published_raw, fast.items[0].updated_raw) == (
        "Mon, 19 Nov 2018 08:10:26 GMT", "2018-11-19T08:42:59.267Z")


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "yes", "false", " false"])
@pytest.mark.parametrize("name", ["isPermaLink", "isPermalink"])  # HuffPost's spelling: feedparser reads it
def test_a_guid_is_a_permalink_exactly_when_feedparser_says_so(name: str, value: str) -> None:
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title>'
            f'<guid {name}="{value}">http://ex.org/g</guid></item></channel></rss>').encode()
    readings = both_readings(body)
    assert readings is not None
    fast, reference = readings
    assert fast == reference
    assert (fast.items[0].link == "http://ex.org/g") == (value == "true")


# Differential fuzzing: small documents drawn from the elements and attributes the fast reading models
# (and some it must leave alone), each read both ways. Whatever the fast reading takes must equal
# feedparser's reading, field by field. It found the permalink, link-type, enclosure and attribute
# differences fixed in session 32.
_TEXTS = st.sampled_from([
    "a", " x ", "A &amp; B", "&lt;b&gt;bold&lt;/b&gt;", "http://ex.org/p", "rel/p", "", "café", "  ", "1",
    "tag:ex.org,2024:1", "<b>x</b>", "a<br/>b", "Mon, 01 Jan 2024 00:00:00 GMT", "x, y ,z", "jane@ex.org (Jane)",
])
_ATTRIBUTES = st.sampled_from([
    "", ' isPermaLink="true"', ' isPermaLink="false"', ' isPermaLink="True"', ' domain="d"', ' term="t"',
    ' scheme="s"', ' label="L"', ' xml:base="http://b.org/x/"', ' xml:base="sub/"', ' xml:lang="de"',
    ' rel="alternate"', ' rel="Alternate"', ' rel="enclosure"', ' rel="canonical"', ' type="html"',
    ' type="HTML"', ' type="xhtml"', ' type="text/plain"', ' type="audio/mpeg" url="v.mp3"', ' mode="escaped"',
    ' type="plain"',
])
_RSS_ELEMENTS = st.sampled_from([
    "title", "link", "guid", "description", "category", "author", "pubDate", "dc:subject", "dc:creator",
    "content:encoded", "itunes:keywords", "atom:link", "enclosure", "dc:date", "media:keywords", "dc:title",
    "media:description", "media:title", "media:content", "media:group", "source", "image", "atom:updated",
    "atom:published", "modified", "itunes:summary", "dc:description", "media:thumbnail",
])
_ATOM_ELEMENTS = st.sampled_from([
    "title", "id", "link", "summary", "content", "category", "published", "updated", "author", "dc:subject",
    "media:description", "media:title", "media:group", "media:content", "media:thumbnail",
])
_NAMESPACES = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
               'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom" '
               'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"')


# Elements drawn as a structure around the drawn attributes ({a}) and text ({t}).
_SHAPES = {
    "enclosure": "<enclosure{a}/>",
    "image": "<image><url>i.png</url><title>{t}</title><link>http://ex.org/i</link></image>",
    "media:content": '<media:content url="p.jpg"><media:description{a}>{t}</media:description></media:content>',
    "media:group": ("<media:group><media:title>{t}</media:title><media:description{a}>{t}</media:description>"
                    '<media:content url="v.mp4"/></media:group>'),  # a video: its title, caption and file
}


def _element(name: str, attributes: str, text: str) -> str:
    if name in ("atom:link", "link") and "rel=" in attributes:
        return f'<{name}{attributes} href="{text or "h"}"/>'
    if name == "author" and "<" not in text:
        return f"<author><name>{text}</name></author>"
    if name in ("title", "summary", "content") and "xhtml" in attributes:
        return f'<{name}{attributes}><div xmlns="http://www.w3.org/1999/xhtml">{text}</div></{name}>'
    return _SHAPES.get(name, "<{n}{a}>{t}</{n}>").format(n=name, a=attributes, t=text)


@settings(max_examples=400, deadline=None)
@given(st.booleans(), st.lists(st.lists(st.tuples(_ATTRIBUTES, _TEXTS), max_size=6), min_size=1, max_size=3),
       st.sampled_from(["", ' xml:base="http://b.org/x/"', ' xml:base="sub/"']), st.data())
def test_whatever_the_fast_reading_takes_it_reads_as_feedparser_does(
    atom: bool, items: list[list[tuple[str, str]]], base: str, data: st.DataObject,
) -> None:
    elements = _ATOM_ELEMENTS if atom else _RSS_ELEMENTS
    bodies = ["".join(_element(data.draw(elements), attributes, text) for attributes, text in item)
              for item in items]
    if atom:
        document = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {_NAMESPACES}'
                    f"{base}><title>t</title>" + "".join(f"<entry>{b}</entry>" for b in bodies) + "</feed>")
    else:
        document = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {_NAMESPACES}{base}><channel>'
                    "<title>t</title>" + "".join(f"<item>{b}</item>" for b in bodies) + "</channel></rss>")
    readings = both_readings(document.encode())
    if readings is not None:
        fast, reference = readings
        assert fast == reference


@pytest.mark.parametrize(("document", "taken"), [
    # RSS: an Atom enclosure link (type text/html unless given), an alternate link to a page overriding
    # <link>, a description whose type attribute feedparser acts on
    ('<rss version="2.0" {ns}><channel><title>t</title><item><atom:link rel="enclosure" href="a.mp3"/></item>'
     "</channel></rss>", True),
    ('<rss version="2.0" {ns}><channel><title>t</title><item><link>http://ex.org/a</link><atom:link rel="Alternate" '
     'href="http://ex.org/b"/></item></channel></rss>', True),
    ('<rss version="2.0" {ns}><channel><title>t</title><item><description type="xhtml">A &amp; B</description>'
     "</item></channel></rss>", False),
    # Atom: the last alternate link to a page wins, one to a PDF is none; an id marked isPermaLink="false";
    # an enclosure's type in capitals; an author given as text
    ('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:1</id><link href="http://ex.org/a"/>'
     '<link href="http://ex.org/b" type="application/pdf"/><link rel="alternate" href="http://ex.org/c"/></entry>'
     "</feed>", True),
    ('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id isPermaLink="false">x</id></entry></feed>',
     False),
    ('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:1</id><link rel="enclosure" '
     'href="a.mp3" type="Audio/MPEG"/></entry></feed>', True),
    ('<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:1</id><author>Jane Doe</author>'
     "</entry></feed>", False),
])
def test_links_types_and_attributes_read_as_feedparser_reads_them(document: str, taken: bool) -> None:
    readings = both_readings(('<?xml version="1.0" encoding="utf-8"?>' + document.format(ns=_NAMESPACES)).encode())
    assert (readings is not None) == taken  # what the fast reading does not model is feedparser's to read
    if readings is not None:
        fast, reference = readings
        assert fast == reference


_RSS_ITEM = ('<rss version="2.0" {ns}><channel><title>t</title>{channel}<item{attributes}><title>T</title>{item}'
             "</item></channel></rss>")
_ATOM_ENTRY = '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{feed}<entry><id>urn:1</id>{entry}</entry></feed>'


@pytest.mark.parametrize(("document", "taken"), [
    # Found by mutating corpus feeds one element or attribute at a time (the fast reading read these
    # otherwise than feedparser): Channel Definition Format's href and lastmod on an item, a plain lang
    # attribute, attributes on ttl, an item nested in another element, an Atom link's url attribute or
    # elements inside it or in an author's uri, a channel title or ttl nested in another channel element or
    # in an image, an author with two names, an RSS enclosure's size
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes=' href="http://ex.org/cdf"', item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes=' lastmod="2024-01-05T10:00:00Z"', item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes=' lang="fr"', item=""), True),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel='<ttl src="x">60</ttl>', attributes="", item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<image><url>http://ex.org/i.png</url><item><title>I</title></item>"
                      "</image>", attributes="", item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<link>http://ex.org/<title>Other</title></link>", attributes="",
                      item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<image><link>http://ex.org/<language>fr</language></link></image>",
                      attributes="", item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel='<title type="xhtml">&lt;b&gt;x&lt;/b&gt;</title>', attributes="",
                      item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<lastBuildDate>x<itunes:summary>S</itunes:summary></lastBuildDate>"
                      "<description>CD</description>", attributes="",
                      item="<description>D</description><itunes:summary>A longer summary</itunes:summary>"), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes="",
                      item='<enclosure url="http://ex.org/p.jpg" type="image/jpeg" width="640" height="360"/>'), True),
    (_ATOM_ENTRY.format(feed="", entry='<link href="http://ex.org/a" url="http://ex.org/b"/>'), False),
    (_ATOM_ENTRY.format(feed="", entry='<link href="http://ex.org/a"><content>x</content></link>'), False),
    (_ATOM_ENTRY.format(feed="", entry='<author><name>A</name><uri>http://ex.org/<link href="http://ex.org/b"/>'
                                       "</uri></author>"), False),
    (_ATOM_ENTRY.format(feed="", entry="<author><name>A</name><name>B</name></author>"), False),
    (_ATOM_ENTRY.format(feed="", entry="<author><name>A</name><email>not an address</email></author>"), True),
    (_ATOM_ENTRY.format(feed='<updated>2024-01-05T10:00:00Z<link rel="hub" href="http://hub.ex.org/"/></updated>',
                        entry=""), False),
    # and more: an element inside an image's url or link (feedparser takes the image's title or link for the
    # feed's), elements inside the channel's description (read as content, or as the fields they name), a
    # nameless author after another (feedparser gives it the name before)
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<image><url>http://ex.org/i.png<category>c</category></url>"
                      "<title>Banner</title></image>", attributes="", item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel='<atom:link rel="hub" href="http://hub.ex.org/"/><image>'
                      "<link>http://ex.org/<pubDate>x</pubDate></link></image>", attributes="", item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<description>About<title>Other</title></description>",
                      attributes=' xml:lang="en-US"', item=""), False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<itunes:summary>S</itunes:summary><description>About"
                      "<copyright>C</copyright></description>", attributes="", item="<description>D</description>"),
     False),
    (_ATOM_ENTRY.format(feed="", entry="<author><name>A</name></author><author><email>b@ex.org</email></author>"),
     False),
    (_ATOM_ENTRY.format(feed="", entry="<author><email>via</email></author><author><email>b@ex.org</email></author>"),
     False),
    (_ATOM_ENTRY.format(feed="", entry="<author><name>A</name></author><author><name>B</name></author>"), True),
    # a channel link with a rel (feedparser reads it as an Atom link: rel="self" is the feed's URL), and an
    # Atom source inside another item element (its title is the item's provider)
    (_RSS_ITEM.format(ns=_NAMESPACES, channel='<link rel="self">http://ex.org/</link>', attributes="", item=""),
     False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<link>http://ex.org/</link>", attributes="", item=""), True),
    (_RSS_ITEM.format(ns=_NAMESPACES + ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"', channel="",
                      attributes="", item="<wfw:commentRss>http://ex.org/c<source url=\"http://ex.org/s\">S</source>"
                      "</wfw:commentRss>"), False),
    # beside the channel: a title, or one inside another element (feedparser reads either as the feed's);
    # RSS 1.0's image stands there, and is read as the channel's
    ('<rss version="2.0"><title>Other</title><channel><title>t</title><item><title>T</title></item></channel>'
     "</rss>", False),
    ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
     "<unknown>y<title>Other</title></unknown><channel><title>t</title></channel><item><title>T</title></item>"
     "</rdf:RDF>", False),
    ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
     "<channel><title>t</title></channel><image><title>Logo</title><url>http://ex.org/i.png</url></image>"
     "<item><title>T</title></item></rdf:RDF>", True),
    ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
     "<image><title>Logo</title><url>http://ex.org/i.png</url></image><channel><title>t</title></channel>"
     "<item><title>T</title></item></rdf:RDF>", False),  # before the channel: feedparser then has no title
])
def test_what_feedparser_reads_wherever_it_stands_is_read_as_feedparser_reads_it(document: str, taken: bool) -> None:
    readings = both_readings(('<?xml version="1.0" encoding="utf-8"?>' + document).encode())
    assert (readings is not None) == taken
    if readings is not None:
        fast, reference = readings
        assert fast == reference


@pytest.mark.parametrize("link", ["http://ex.org/?a=1&amp;amp;b=2", "http://ex.org/?a=1&amp;b=2"])
def test_an_item_link_escaped_twice_reads_as_feedparser_repairs_it(link: str) -> None:
    # "?a=1&amp;amp;b=2" in the document: feedparser takes the "&amp;" left after parsing for an ampersand
    readings = both_readings(_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes="",
                                              item=f"<link>{link}</link>").encode())
    assert readings is not None
    fast, reference = readings
    assert fast.items[0].link == reference.items[0].link == "http://ex.org/?a=1&b=2"


@pytest.mark.parametrize(("kind", "taken"), [("html", True), ("text/plain", True), ("xhtml", False)])
def test_a_description_typed_as_what_it_is_anyway_takes_the_fast_reading(kind: str, taken: bool) -> None:
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title>'
            f'<description type="{kind}">A &amp;lt;b&amp;gt; B</description></item></channel></rss>').encode()
    readings = both_readings(body)
    assert (readings is not None) == taken  # HuffPost's type="html"; xhtml is feedparser's to read
    if readings is not None:
        assert readings[0] == readings[1]


_DEC = "Sun, 17 Dec 2023 00:58:40 -0500"
_RSS1 = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" {ns}>'
         "<channel><title>t</title>{channel}</channel><item><title>T</title></item></rdf:RDF>")


@pytest.mark.parametrize(("document", "dates", "taken"), [
    # NBC New York's channel: pubDate and lastBuildDate, the same date, kept once
    (_RSS_ITEM.format(ns=_NAMESPACES, channel=f"<pubDate>{_DEC}</pubDate><lastBuildDate>{_DEC}</lastBuildDate>",
                      attributes="", item=""), [_DEC], True),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<lastBuildDate>a</lastBuildDate><dc:date> b </dc:date>",
                      attributes="", item=""), ["b"], True),  # both are the update time: the last wins
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="<lastBuildDate>a</lastBuildDate><atom:updated/>", attributes="",
                      item=""), [], True),  # even empty
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes="", item="").replace(
        "</channel>", f"<pubDate>{_DEC}</pubDate></channel>"), [_DEC], True),  # after the items
    # in an image: the feed's (an unprefixed element ends the image for feedparser), a dc:date the image's
    (_RSS_ITEM.format(ns=_NAMESPACES, channel=f"<image><url>i.png</url><pubDate>{_DEC}</pubDate></image>",
                      attributes="", item=""), [_DEC], False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel=f"<image><url>i.png</url><dc:date>{_DEC}</dc:date></image>",
                      attributes="", item=""), [], False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel=f"<cloud><pubDate>{_DEC}</pubDate></cloud>", attributes="",
                      item=""), [_DEC], False),  # the feed's, wherever it stands
    (_RSS_ITEM.format(ns=_NAMESPACES, channel=f"<cloud><lastBuildDate>{_DEC}</lastBuildDate></cloud>",
                      attributes="", item=""), [_DEC], False),
    (_RSS_ITEM.format(ns=_NAMESPACES, channel="", attributes="", item="").replace(
        "<channel>", f'<channel lastmod="{_DEC}">'), [_DEC], False),  # Channel Definition Format's
    (_RSS1.format(ns=_NAMESPACES, channel=f"<dc:date>{_DEC}</dc:date>"), [_DEC], True),
    (_RSS1.format(ns=_NAMESPACES, channel="").replace("<item>", f"<dc:date>{_DEC}</dc:date><item>"), [], True),
    (_ATOM_ENTRY.format(feed="<updated>2023-12-17T00:58:40-05:00</updated><published>2023-12-16T00:00:00-05:00"
                        "</published>", entry=""), ["2023-12-16T00:00:00-05:00", "2023-12-17T00:58:40-05:00"], True),
])
def test_the_feeds_own_dates_are_read_as_feedparser_reads_them(document: str, dates: list[str], taken: bool) -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?>' + document).encode()
    assert parse_reference(body, CTX).items[0].feed_dates_raw == dates
    readings = both_readings(body)
    assert (readings is not None) == taken
    if readings is not None:
        fast, reference = readings
        assert fast == reference
