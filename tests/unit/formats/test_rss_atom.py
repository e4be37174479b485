"""RSS/Atom through feedparser: ids kept as published, links resolved, originals kept, no fake dates."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
import structlog.testing
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from schemas import FeedFormat
from services.normalizer.normalize import normalize
from services.poller.formats import FeedContext, ParsedFeed, parse_document
from services.poller.formats.rss_atom import WHITESPACE, _absolute, parse_reference, parse_rss_atom, prepared
from services.poller.formats.rss_fast import parse_plain_feed
from services.poller.formats.safexml import strict_parser

Parse = Callable[..., ParsedFeed]
CTX = FeedContext(feed_id="f", feed_url="http://example.com/feed", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title><link>https://example.com/</link><ttl>15</ttl>
<item><title>One</title><guid isPermaLink="false">t3_abc</guid><link>/news/one</link>
  <pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>
  <enclosure url="/media/one.mp3" type="audio/mpeg" length="1234"/></item>
<item><title>Two</title><link>https://example.com/news/two</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom wire</title>
<link rel="next" href="?page=2"/>
<entry><id>tag:example.com,2024:1</id><title>Entry</title><link href="https://example.com/e1"/>
  <published>2024-05-01T10:00:00Z</published><updated>2024-05-01T11:00:00Z</updated></entry>
</feed>"""


def test_guid_is_not_resolved_against_the_feed_url(parse: Parse) -> None:
    first, second = parse(RSS).items
    assert first.guid == "t3_abc"
    assert first.item_id == "feed:t3_abc"
    assert second.guid is None and second.item_id == "feed:https://example.com/news/two"


def test_relative_links_are_resolved_against_the_feed_url(parse: Parse) -> None:
    first = parse(RSS).items[0]
    assert first.link == "http://example.com/news/one"
    assert [e.url for e in first.enclosures] == ["http://example.com/media/one.mp3"]
    assert parse(ATOM).next_page_url == "http://example.com/feed?page=2"


def test_an_rss_pubdate_is_not_also_reported_as_updated(parse: Parse) -> None:
    first = parse(RSS).items[0]
    assert (first.published_raw, first.updated_raw) == ("Wed, 01 May 2024 10:00:00 GMT", None)
    entry = parse(ATOM).items[0]
    assert (entry.published_raw, entry.updated_raw) == ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z")


def test_items_keep_their_original_fragment(parse: Parse) -> None:
    feed = parse(RSS)
    assert feed.format is FeedFormat.RSS and feed.ttl_seconds == 900
    assert [item.original.split(">", 1)[0] if item.original else None for item in feed.items] == ["<item", "<item"]
    assert "t3_abc" in (feed.items[0].original or "")


@pytest.mark.parametrize("ttl", ["inf", "nan", "-5", "0", "soon"])
def test_a_ttl_that_is_no_positive_finite_number_is_none(parse: Parse, ttl: str) -> None:
    assert parse(RSS.replace("<ttl>15</ttl>", f"<ttl>{ttl}</ttl>")).ttl_seconds is None


URLS = r"(https?|HTTP|ftp)://[a-z0-9.:@\[\]-]{0,12}(/[a-z0-9/._;%~ -]{0,12})?(\?[a-z0-9=&;]{0,8})?(#[a-z0-9?#]{0,6})?"


@given(st.from_regex(URLS, fullmatch=True),
       st.sampled_from(["http://example.com/feed", "https://example.com/a/b/feed.xml", "ftp://x/"]))
def test_links_resolve_exactly_as_urljoin_resolves_them(url: str, base: str) -> None:
    assert _absolute(url, base) == _joined(base, url.strip())


def _joined(base: str, url: str) -> str | None:
    try:
        return urljoin(base, url) or None
    except ValueError:  # urljoin refuses a malformed IPv6 host: the link is dropped, not the feed
        return None


def test_a_link_urllib_cannot_read_is_dropped_not_the_feed(parse: Parse) -> None:
    # Found by fuzzing: one item's "http://[::1" failed the whole feed.
    feedparser_read = ATOM.replace("<feed ", '<feed xml:base="https://example.com/" ')  # not the fast path
    for body in (RSS, ATOM, feedparser_read):
        broken = body.replace("https://example.com/news/two", "http://[::1").replace("https://example.com/e1",
                                                                                      "http://[::1")
        assert broken != body
        items = parse(broken).items
        assert [item.title for item in items] == [item.title for item in parse(body).items]
    assert parse(RSS.replace("https://example.com/news/two", "http://[::1")).items[1].link is None
    assert parse(RSS.replace("/media/one.mp3", "http://[::1/one.mp3")).items[0].enclosures == []


@pytest.mark.parametrize(("channel", "language"), [
    ("<language>de-DE</language>", "de-DE"),
    ('<dc:language xmlns:dc="http://purl.org/dc/elements/1.1/">fi</dc:language>', "fi"),
    ("", None),
])
def test_items_carry_the_language_the_channel_declares(parse: Parse, channel: str, language: str | None) -> None:
    feed = parse(RSS.replace("<ttl>15</ttl>", f"<ttl>15</ttl>{channel}"))
    assert [item.feed_language for item in feed.items] == [language, language]
    # The same, when feedparser reads the feed (markup in a title sends it there).
    slow = parse(RSS.replace("<ttl>15</ttl>", f"<ttl>15</ttl>{channel}").replace("<title>Two</title>",
                                                                             "<title>T<b>wo</b></title>"))
    assert [item.feed_language for item in slow.items] == [language, language]


def test_atom_entries_carry_the_feeds_xml_lang(parse: Parse) -> None:
    feed = parse(ATOM.replace('<feed xmlns="http://www.w3.org/2005/Atom">',
                              '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="nb">'))
    assert [item.feed_language for item in feed.items] == ["nb"]


def test_an_out_of_order_image_size_does_not_fail_the_feed(parse: Parse) -> None:
    # feedparser raised TypeError (int(None)) on this channel image, failing every item of the feed.
    channel_image = "<image><url>https://example.com/logo.png</url><height><width>1</height></width></image>"
    feed = parse(RSS.replace("<ttl>15</ttl>", f"<ttl>15</ttl>{channel_image}"))
    assert [item.title for item in feed.items] == ["One", "Two"]
    assert feed.items[0].link == "http://example.com/news/one"


_GEORSS = 'xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"'
_PSC = 'xmlns:psc="http://podlove.org/simple-chapters"'


@pytest.mark.parametrize("element", [
    # feedparser forgot it was inside the image at the <b> and looked for the channel's (absent) links
    "<image><url>https://example.com/logo.png</url><link><b>x</b></link></image>",
    # a text input inside an item: its parts looked for the channel's text input
    "<item><title>Zero</title><textInput><title>Search</title><link>https://example.com/s</link></textInput></item>",
    # an item opened inside another's category, chapters or GML point: the element closed on an item that
    # never got its tags, its chapters or its place
    "<item><title>Zero</title><category><item><title>Inner</title></item>x</category></item>",
    f'<item><title>Zero</title><psc:chapters {_PSC}><item><title>Inner</title></item>'
    '<psc:chapter start="00:00:12.000"/></psc:chapters></item>',
    f"<item><title>Zero</title><georss:where {_GEORSS}><gml:Point><item><title>Inner</title></item>"
    "<gml:pos>36.9 31.1</gml:pos></gml:Point></georss:where></item>",
    # a GML point in a reference system whose number is no number
    f'<item><title>Zero</title><georss:where {_GEORSS}><gml:Point srsName="EPSG:x"><gml:pos>1 2</gml:pos>'
    "</gml:Point></georss:where></item>",
])
def test_an_element_feedparser_cannot_read_costs_that_element_not_the_feed(parse: Parse, element: str) -> None:
    # Each raised KeyError, IndexError or ValueError out of feedparser, failing every item at every poll.
    feed = parse(RSS.replace("<link>https://example.com/</link><ttl>15</ttl>", f"<ttl>15</ttl>{element}"))
    assert [item.title for item in feed.items][-2:] == ["One", "Two"]
    assert feed.items[-1].link == "https://example.com/news/two"


def test_an_element_left_out_is_counted_and_logged_with_its_feed() -> None:
    image = "<image><url>https://example.com/logo.png</url><link><b>x</b></link></image>"
    body = RSS.replace("<link>https://example.com/</link><ttl>15</ttl>", f"<ttl>15</ttl>{image}").encode()
    labels = {"feed": CTX.feed_id}
    before = REGISTRY.get_sample_value("wirefeed_poller_feed_elements_dropped_total", labels) or 0
    with structlog.testing.capture_logs() as logs:
        feed = parse_document(body, CTX)
    assert [item.title for item in feed.items] == ["One", "Two"]
    after = REGISTRY.get_sample_value("wirefeed_poller_feed_elements_dropped_total", labels) or 0
    assert after > before
    (event,) = [entry for entry in logs if entry["event"] == "feed_elements_dropped"]
    assert event["feed"] == CTX.feed_id and "link" in event["elements"]


def test_a_well_formed_feed_drops_nothing() -> None:
    labels = {"feed": CTX.feed_id}
    before = REGISTRY.get_sample_value("wirefeed_poller_feed_elements_dropped_total", labels)
    with structlog.testing.capture_logs() as logs:
        parse_reference(RSS.encode(), CTX)
    assert REGISTRY.get_sample_value("wirefeed_poller_feed_elements_dropped_total", labels) == before
    assert not [entry for entry in logs if entry["event"] == "feed_elements_dropped"]


@pytest.mark.parametrize("charset", ["undefined", "punycode", "utf-8\x00"])
def test_an_http_charset_python_cannot_decode_with_is_passed_over(charset: str) -> None:
    # feedparser raised UnicodeError (or ValueError) for the whole feed on "charset=undefined"
    body = RSS.replace("<title>One</title>", "<title>Onë</title>").encode()
    feed = parse_document(body, CTX, f"application/rss+xml; charset={charset}")
    assert [item.title for item in feed.items] == ["Onë", "Two"]


def test_a_polygon_that_is_not_numbers_does_not_fail_the_feed(parse: Parse) -> None:
    # feedparser subscripted None for this GeoRSS polygon and raised TypeError for the whole feed.
    where = ('<georss:where xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml">'
             "<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>north of the river</gml:posList>"
             "</gml:LinearRing></gml:exterior></gml:Polygon></georss:where>")
    feed = parse(ATOM.replace("</published>", f"</published>{where}"))
    assert [item.title for item in feed.items] == ["Entry"]


@pytest.mark.parametrize("url", ["http://x/a?", "http://x/a#", "http://x/a;p", "http:///a", "https://x", "/rel", " ",
                                 " http://x/a ", "http://x/a/../b", "HTTP://X/A"])
def test_edge_links_resolve_exactly_as_urljoin_resolves_them(url: str) -> None:
    assert _absolute(url, "http://example.com/feed") == (urljoin("http://example.com/feed", url.strip()) or None)


def test_the_spelled_out_whitespace_is_what_backslash_s_matches() -> None:
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert re.findall(rf"[{WHITESPACE}]", everything) == re.findall(r"\s", everything)


@pytest.mark.parametrize(("field", "name"), [
    ("jonas@insanity.industries (Jonas Große Sundrup)", "Jonas Große Sundrup"),  # feedparser: "stries (Jonas…"
    ("Simon St.Laurent (mailto:simonstl@simonstl.com)", "Simon St.Laurent"),  # feedparser: "…(mailto:"
    ("jo@example.com (Jo Bloggs)", "Jo Bloggs"),
    ("Jo Bloggs &lt;jo@example.com&gt;", "Jo Bloggs"),
    ("Jo Bloggs", "Jo Bloggs"),
])
def test_an_rss_authors_e_mail_address_is_cut_out_whole(parse: Parse, field: str, name: str) -> None:
    body = RSS.replace("<title>One</title>", f"<title>One</title><author>{field}</author>")
    assert parse(body).items[0].authors == [name]
    # The same, when feedparser reads the feed (markup in a title sends it there).
    assert parse(body.replace("<title>Two</title>", "<title>T<b>wo</b></title>")).items[0].authors == [name]


def test_an_rss_author_that_is_only_an_address_names_nobody(parse: Parse) -> None:
    body = RSS.replace("<title>One</title>", "<title>One</title><author>desk@wire.example</author>")
    assert parse(body).items[0].authors == []
    assert parse(body.replace("<title>Two</title>", "<title>T<b>wo</b></title>")).items[0].authors == []


GOOGLE_NEWS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>Top stories - Google News</title><item><title>Ukraine strikes Russian oil depot in drone attack - Reuters</title>
<link>https://news.google.com/rss/articles/CBMiZWh0dHBz?oc=5</link><guid isPermaLink="false">CBMiZWh0dHBz</guid>
<pubDate>Thu, 25 Jan 2024 11:02:00 GMT</pubDate><description>&lt;a href="https://news.google.com/rss/articles/CBMi"
&gt;Ukraine strikes Russian oil depot in drone attack&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;Reuters
&lt;/font&gt;</description><source url="https://www.reuters.com">Reuters</source></item></channel></rss>"""


def test_an_aggregated_item_names_its_publisher_and_its_headline_loses_the_name(parse: Parse) -> None:
    raw = parse(GOOGLE_NEWS).items[0]
    assert raw.providers == ["Reuters"]
    article = normalize(raw, datetime(2024, 1, 26, tzinfo=UTC))
    assert (article.title, article.agency) == ("Ukraine strikes Russian oil depot in drone attack", "Reuters")


_CLUSTER = "".join(
    f'&lt;li&gt;&lt;a href="https://news.google.com/rss/articles/CBMi{n}"&gt;{headline}&lt;/a&gt;&amp;nbsp;&amp;nbsp;'
    f'&lt;font color="#6f6f6f"&gt;{outlet}&lt;/font&gt;&lt;/li&gt;'
    for n, (headline, outlet) in enumerate([
        ("Ukraine strikes Russian oil depot in drone attack", "Reuters"),
        ("Drone hits oil depot in Russia's Bryansk region", "BBC.com"),
        ("View Full coverage on Google News", ""),
    ])
)


@pytest.mark.parametrize("description", [
    GOOGLE_NEWS[GOOGLE_NEWS.index("<description>"):GOOGLE_NEWS.index("</description>") + 14],
    f"<description>&lt;ol&gt;{_CLUSTER}&lt;/ol&gt;</description>",
])
def test_an_aggregators_links_to_the_story_are_not_its_text(parse: Parse, description: str) -> None:
    # Google News describes an item by linking to it, and a cluster by linking to every outlet's copy.
    feed = re.sub(r"<description>.*</description>", lambda _: description, GOOGLE_NEWS, flags=re.DOTALL)
    article = normalize(parse(feed).items[0], datetime(2024, 1, 26, tzinfo=UTC))
    assert (article.title, article.body_text) == ("Ukraine strikes Russian oil depot in drone attack", "")


@pytest.mark.parametrize("description", [
    # the headline unlinked, or a link to another story: text the outlet wrote
    "Ukraine strikes Russian oil depot in drone attack Reuters",
    '&lt;a href="https://example.com/a"&gt;Drone hits oil depot&lt;/a&gt; Reuters',
])
def test_text_like_an_aggregators_link_stays(parse: Parse, description: str) -> None:
    feed = re.sub(r"<description>.*</description>", lambda _: f"<description>{description}</description>",
                  GOOGLE_NEWS, flags=re.DOTALL)
    article = normalize(parse(feed).items[0], datetime(2024, 1, 26, tzinfo=UTC))
    assert article.body_text != ""


_FULL_TEXT = "&lt;p&gt;" + "Employees use the tools at hand to get work done. " * 8 + "&lt;/p&gt;"


def _podcast_item(elements: str) -> str:
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>T</title><item><title>Item</title><guid>g1</guid>{elements}</item></channel></rss>")


@pytest.mark.parametrize(("elements", "summary", "content"), [
    # an Open Graph block nested in the item after the full text (Google's Cloud blog)
    (f"<description>{_FULL_TEXT}</description><og><type>article</type><description>One line.</description></og>",
     "full", None),
    (f"<description>{_FULL_TEXT}</description><dc:description>One line.</dc:description>", "full", None),
    # a podcast's fuller show notes after a one-line description are its content
    (f"<description>One line.</description><itunes:summary>{_FULL_TEXT}</itunes:summary>", "One line.", "full"),
    # a content element is the content, wherever a second summary stands
    ("<description>One line.</description><itunes:summary>Two lines.</itunes:summary>"
     "<content:encoded>&lt;p&gt;The episode.&lt;/p&gt;</content:encoded>", "One line.", "<p>The episode.</p>"),
])
def test_a_second_summary_is_content_only_when_it_holds_more(elements: str, summary: str, content: str | None) -> None:
    # feedparser reads a summary-like element after the summary as content; a short one became the body
    document = prepared(_podcast_item(elements).encode(), None)
    readings = [parse_reference(document, CTX)]
    if (plain := parse_plain_feed(document, None, strict_parser())) is not None:
        readings.append(parse_rss_atom(document, CTX))
    for reading in readings:
        item = reading.items[0]
        assert (item.summary_html or "").startswith("<p>Employees" if summary == "full" else summary)
        assert item.content_html == (_FULL_TEXT.replace("&lt;", "<").replace("&gt;", ">") if content == "full"
                                     else content)
    if plain is not None:
        assert readings[0].items[0] == readings[1].items[0]


def test_the_full_text_before_a_nested_one_line_description_is_the_article() -> None:
    document = _podcast_item(f"<description>{_FULL_TEXT}</description><og><description>One line.</description></og>")
    article = normalize(parse_reference(document.encode(), CTX).items[0], datetime(2024, 1, 26, tzinfo=UTC))
    assert article.body_text.startswith("Employees use the tools") and article.body_text.count("Employees") == 8


@pytest.mark.parametrize("categories", [
    # a category's text names the tag its attributes made, which can make it equal to one kept before
    '<category domain="d">News</category><category domain="d">News</category><category>News</category>',
    '<category domain="d"/><category>News</category><category domain="d">Sport</category>',
    "<category>a</category><category>a</category><dc:subject>a</dc:subject><category>b</category>",
    # more than the fast reading compares one by one: it counts them instead, with the same result
    "".join(f'<category domain="d">c{n % 30}</category><category domain="d"/><category>c{n}</category>'
            for n in range(40)),
])
def test_tags_are_kept_once_as_feedparser_keeps_them(categories: str) -> None:
    document = prepared(_podcast_item(categories).encode(), None)
    assert parse_plain_feed(document, None, strict_parser()) is not None
    assert parse_rss_atom(document, CTX).items[0] == parse_reference(document, CTX).items[0]
