"""ANPA-1312 on AP's own transmissions (superdesk-core's fixtures), and on what breaks the format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import FeedFormat, RawItem
from services.normalizer.normalize import normalize
from services.poller.formats import InvalidDocumentError, ParsedFeed
from services.poller.formats.base import MAX_ORIGINAL_CHARS

Parse = Callable[..., ParsedFeed]


@pytest.fixture
def anpa(superdesk_item: Callable[[str, FeedFormat], RawItem]) -> Callable[[str], RawItem]:
    return lambda name: superdesk_item(name, FeedFormat.ANPA_1312)


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


def test_each_news_alert_is_a_story_of_its_own(corpus: Path, parse: Parse) -> None:
    """Every alert carries the keyword APNewsAlert: the keyword cannot tell two alerts apart."""
    body = (corpus / "superdesk-core" / "tests" / "io" / "fixtures" / "ap_anpa-5.tst").read_bytes()
    other = body.replace(b"W1645", b"W1646").replace(b"Hawaii files court challenge", b"Court rules")
    ids = [parse(alert).items[0].guid for alert in (body, other)]
    assert ids == ["BC-US--APNewsAlert/2017-06-29/W1645", "BC-US--APNewsAlert/2017-06-29/W1646"]


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
    # no headline: its sentence, without the dateline, which is a field of its own
    assert alert.title.startswith("Hawaii files court challenge")
    assert (alert.dateline.place, alert.body_text[:22]) == ("HONOLULU", "HONOLULU (AP) — Hawaii")


def test_the_original_kept_is_bounded_like_every_format(corpus: Path, parse: Parse) -> None:
    body = (corpus / "superdesk-core" / "tests" / "io" / "fixtures" / "anpa-1.tst").read_bytes()
    huge = body.replace(b"\t   It's an opportunity", b"\t   " + b"word " * 250_000 + b"\n\t   It's an opportunity")
    [item] = parse(huge).items
    assert len(item.original or "") == MAX_ORIGINAL_CHARS < len(huge)


@pytest.mark.parametrize("body", [
    b"\x16\x16\x01W2870\x1fasian\nnot a header line\n\x02text\x03",
    b"\x16\x16\x01W2870\x1fasian\nf l\x13\x11 BC-LT--Argentina     11-13 1049\nno text marker",
])
def test_a_transmission_without_its_header_or_text_is_refused(parse: Parse, body: bytes) -> None:
    with pytest.raises(InvalidDocumentError, match="ANPA-1312"):
        parse(body)
