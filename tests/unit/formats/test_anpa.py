"""ANPA-1312 on AP's own transmissions (superdesk-core's fixtures), and on what breaks the format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import FeedFormat, RawItem
from services.normalizer.normalize import normalize
from services.poller.formats import FeedContext, InvalidDocumentError, ParsedFeed, detect_format
from services.poller.formats.anpa import parse_anpa

Parse = Callable[..., ParsedFeed]


@pytest.fixture
def anpa(corpus: Path, parse: Parse) -> Callable[[str], RawItem]:
    def read(name: str) -> RawItem:
        body = (corpus / "superdesk-core" / "tests" / "io" / "fixtures" / name).read_bytes()
        assert detect_format(body) is FeedFormat.ANPA_1312
        [item] = parse(body).items
        return item
    return read


def test_a_story_gives_its_headline_byline_slug_filing_time_and_paragraphs(anpa: Callable[[str], RawItem]) -> None:
    item = anpa("anpa-1.tst")
    assert (item.guid, item.title, item.slugline) == (
        "BC-LT--Argentina-CancerB/2013-11-13", "For Argentine chemo patients, mirrors can hurt",
        "Argentina-Cancer Beauty")
    assert (item.byline, item.published_raw, item.providers) == (
        "By PAUL BYRNE and ALMUDENA CALATRAVA, Associated Press", "2013-11-13T15:09:00Z", ["AP"])
    body = item.content_html or ""
    assert body.startswith("<p>BUENOS AIRES, Argentina (AP) — For cancer patients dealing with")
    assert "<p>“Look Good Feel Better” is a program" in body
    assert "AP Photo" not in body and "Eds:" not in body and "AP-WF" not in body  # notes and sign-off
    assert body.endswith("<p>APTN contributor Kacey Cherry in Buenos Aires helped with this story.</p>")


def test_a_writethru_is_a_later_version_of_the_same_story(anpa: Callable[[str], RawItem]) -> None:
    first, third = anpa("ap_anpa-1.tst"), anpa("ap_anpa-4.tst")
    assert (first.version, first.slugline, first.byline) == (2, "Heat-Hawks", "By CHARLES ODUM, AP Sports Writer")
    assert (third.version, third.urgency) == (4, 4)
    assert anpa("anpa-1.tst").version is None  # the first take: version 1 by default


def test_priorities_become_urgencies(anpa: Callable[[str], RawItem]) -> None:
    assert anpa("ap_anpa-5.tst").urgency == 2  # "b": a bulletin
    assert anpa("anpa-3.tst").urgency == 3  # "u": urgent


def test_a_table_is_kept_as_it_was_set(anpa: Callable[[str], RawItem]) -> None:
    item = anpa("ap_anpa-6.tst")
    assert (item.title, item.byline) == ("Wild Card Glance", "By The Associated Press")
    body = item.content_html or ""
    assert body.startswith("<pre>AMERICAN LEAGUE\nW   L   Pct   WCGB\nTampa Bay 73  52  .584   _\n")
    assert "\x08" not in body and "\x10" not in body  # typesetting codes gone


def test_a_listing_sent_as_header_lines_is_the_body(anpa: Callable[[str], RawItem]) -> None:
    item = anpa("anpa-4.tst")
    assert item.title == "AP Top Entertainment News at 11:23 p.m. EST"
    assert (item.content_html or "").startswith("<p>Ex-bodyguard testifies about lewd messages sent to Paltrow</p>")


def test_the_normalizer_reads_the_dateline_and_byline_of_anpa_copy(anpa: Callable[[str], RawItem]) -> None:
    article = normalize(anpa("anpa-2.tst"), datetime(2013, 11, 14, tzinfo=UTC))
    assert (article.dateline.place, article.agency) == ("ROSCOE, South Dakota", "AP")
    assert article.byline == ["Chet Brokaw", "Jack Gillum"]
    assert article.published_at == datetime(2013, 11, 13, 7, 45, tzinfo=UTC)
    alert = normalize(anpa("ap_anpa-5.tst"), datetime(2017, 6, 30, tzinfo=UTC))
    assert alert.title.startswith("HONOLULU (AP) — Hawaii files court challenge")  # no headline: its sentence


@pytest.mark.parametrize("body", [
    b"\x16\x16\x01W2870\x1fasian\nnot a header line\n\x02text\x03",
    b"\x16\x16\x01W2870\x1fasian\nf l\x13\x11 BC-LT--Argentina     11-13 1049\nno text marker",
])
def test_a_transmission_without_its_header_or_text_is_refused(parse: Parse, body: bytes) -> None:
    with pytest.raises(InvalidDocumentError, match="ANPA-1312"):
        parse(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=3200), st.binary(max_size=40))
def test_a_cut_or_garbled_transmission_gives_an_item_or_says_why(corpus: Path, ctx: FeedContext, cut: int,
                                                                  noise: bytes) -> None:
    """The parser itself, not parse_document, which would turn any exception into a parse error."""
    body = (corpus / "superdesk-core" / "tests" / "io" / "fixtures" / "anpa-1.tst").read_bytes()
    garbled = body[:cut] + noise + body[cut:cut + 200]
    try:
        parsed = parse_anpa(garbled, ctx)
    except InvalidDocumentError:
        return
    assert [item.format for item in parsed.items] == [FeedFormat.ANPA_1312]
