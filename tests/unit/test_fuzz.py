"""Property-based tests on untrusted input: any bytes into any parser, any text into the normalizer.
Only results or the project's typed errors may come out, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import FeedFormat, RawItem
from services.normalizer.normalize import NormalizeError, normalize
from services.poller.formats import FeedContext, FeedParseError, InvalidDocumentError, ParsedFeed, parse_document
from services.poller.formats.anpa import parse_anpa
from services.poller.formats.iptc7901 import parse_iptc7901
from services.poller.formats.rfc822 import parse_email
from tests.helpers import CORPUS

CTX = FeedContext(feed_id="fuzz", feed_url="http://fuzz.example/feed", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
SUPERDESK = CORPUS / "superdesk-core" / "tests" / "io" / "fixtures"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fragments that steer random documents towards the parsers' interesting paths.
XML_PIECES = ["<?xml version='1.0'?>", "<rss version='2.0'>", "<channel>", "<item>", "<title>", "</title>",
              "<feed xmlns='http://www.w3.org/2005/Atom'>", "<entry>", "<newsMessage "
              "xmlns='http://iptc.org/std/nar/2006-10-01/'>", "<newsItem guid='x' version='1'>", "<nitf>",
              "<body.content>", "<NewsML>", "<NewsItem>", "<!DOCTYPE x [", "<!ENTITY a 'b'>", "]>", "&a;",
              "&amp;", "&#0;", "<![CDATA[", "]]>", "</item>", "</channel>", "</rss>", "\x00", "\ufeff", "é"]
JSON_PIECES = ['{"version": "https://jsonfeed.org/version/1.1", "items": [', '{"uri": "u", "type": "text"',
               '"headline":', '"body_html": "<p>x</p>"', '"id":', '"content_html":', '1', 'null', '[', ']', '{',
               '}', ',', '"', '"\\ud800"', 'true']


def _ok_or_typed(body: bytes, fmt: FeedFormat | None = None) -> None:
    try:
        result = parse_document(body, CTX, None, fmt)
    except FeedParseError:
        return
    assert isinstance(result, ParsedFeed)
    for item in result.items:
        assert isinstance(item, RawItem)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_a_result_or_a_typed_error(body: bytes) -> None:
    _ok_or_typed(body)


@FUZZ
@given(st.lists(st.sampled_from(XML_PIECES) | st.text(max_size=20), max_size=40).map("".join),
       st.sampled_from([None, *FeedFormat]))
def test_xml_like_documents_give_a_result_or_a_typed_error(text: str, fmt: FeedFormat | None) -> None:
    _ok_or_typed(text.encode("utf-8", "surrogatepass"), fmt)


@FUZZ
@given(st.lists(st.sampled_from(JSON_PIECES) | st.text(max_size=10), max_size=40).map("".join),
       st.sampled_from([None, FeedFormat.JSON_FEED, FeedFormat.NINJS]))
def test_json_like_documents_give_a_result_or_a_typed_error(text: str, fmt: FeedFormat | None) -> None:
    _ok_or_typed(text.encode("utf-8", "surrogatepass"), fmt)


HTML = st.lists(st.sampled_from(["<p>", "</p>", "<script>", "</script>", "<a href='javascript:x'>", "<img src=x "
                                 "onerror=alert(1)>", "&nbsp;", "&bogus;", "<div", "<!--", "-->", "\n", " ",
                                 "<style>", "Reuters", "(Reporting by A; Editing by B)", "BAGHDAD (Reuters) -"])
                | st.text(max_size=30), max_size=50).map("".join)


@FUZZ
@given(title=st.text(max_size=200), body=HTML, date=st.text(max_size=40),
       link=st.text(max_size=80) | st.just("https://x.example/a?utm_source=y#f"))
def test_the_normalizer_gives_an_article_or_a_typed_error(title: str, body: str, date: str, link: str) -> None:
    raw = RawItem(item_id="fuzz:1", feed_id="fuzz", feed_url="http://fuzz.example/feed", format=FeedFormat.RSS,
                  fetched_at=CTX.fetched_at, content_hash="h", title=title, content_html=body,
                  published_raw=date, link=link)
    try:
        article = normalize(raw, CTX.fetched_at)
    except NormalizeError:
        return
    assert "<script" not in article.body_html.lower()
    assert "javascript:" not in article.body_html.lower()
    assert article.published_at.tzinfo is not None


ILLFORMED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feedparser" / "tests" / "illformed"


@pytest.mark.parametrize("path", sorted(ILLFORMED.rglob("*.xml")), ids=lambda p: p.name)
def test_every_illformed_feedparser_document_gives_a_result_or_a_typed_error(path: Path) -> None:
    _ok_or_typed(path.read_bytes())


@FUZZ
@pytest.mark.parametrize(("parser", "name", "fmt"), [
    (parse_anpa, "anpa-1.tst", FeedFormat.ANPA_1312), (parse_iptc7901, "IPTC7901.txt", FeedFormat.IPTC_7901),
    (parse_email, "composite_email.txt", FeedFormat.EMAIL)])
@given(cut=st.integers(min_value=0, max_value=3200), noise=st.binary(max_size=40))
def test_a_cut_or_garbled_wire_transmission_or_mail_gives_an_item_or_says_why(
        parser: Callable[..., ParsedFeed], name: str, fmt: FeedFormat, cut: int, noise: bytes) -> None:
    """The text formats' own parsers, not parse_document, which would turn any exception into a parse error."""
    body = (SUPERDESK / name).read_bytes()
    try:
        parsed = parser(body[:cut] + noise + body[cut:cut + 300], CTX)
    except InvalidDocumentError:
        return
    assert [item.format for item in parsed.items] == [fmt]
