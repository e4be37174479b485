"""IPTC 7901 on dpa's own transmissions (superdesk-core's fixtures), and on what breaks the format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from schemas import FeedFormat, RawItem
from services.normalizer.normalize import normalize
from services.poller.formats import InvalidDocumentError, ParsedFeed

Parse = Callable[..., ParsedFeed]


@pytest.fixture
def dpa(superdesk_item: Callable[[str, FeedFormat], RawItem]) -> Callable[[str], RawItem]:
    return lambda name: superdesk_item(name, FeedFormat.IPTC_7901)


def test_a_story_gives_its_headline_slug_time_paragraphs_and_notebook_credits(dpa: Callable[[str], RawItem]) -> None:
    item = dpa("IPTC7901.txt")
    assert (item.title, item.slugline, item.urgency, item.published_raw, item.providers) == (
        "Germany Social Democrats: Coalition talks with Merkel could fail", "Germany-politics", 4,
        "2013-11-13T11:37:00Z", ["dpa"])
    assert item.credits == {"reporting": ["Wolfgang Schmidt"], "editing": ["Joseph Nasr"]}
    body = item.content_html or ""
    assert body.startswith("<p>Berlin (dpa) - Negotiations between German conservatives headed by Chancellor "
                           "Angela Merkel and the left-leaning Social Democrats (SPD) on forming")  # lines joined
    assert body.count("<p>") == 5
    assert "NOTEBOOK" not in body and "not for publication" not in body and "dpa wsz" not in body


def test_markers_and_byline_leave_the_headline(dpa: Callable[[str], RawItem]) -> None:
    lead = dpa("dpa_four_line.txt")  # REFILE, 1ST LEAD, headline, byline
    assert (lead.title, lead.byline, lead.version) == (
        "Switzerland joins list of countries resisting UN migration pact", "By dpa correspondents", 2)
    assert lead.credits == {"reporting": ["Albert Otti", "Christiane Oelrich"], "editing": ["Rachel More"]}
    assert dpa("dpa_two_line.txt").title == "Peace talks on Yemen to take place in Sweden next month, Mattis says"
    assert dpa("dpa_copyright.txt").title == "Impressum"  # "(Achtung)" is a marker
    partner = dpa("dpa_two_by_line.txt")
    assert partner.credits == {"reporting": ["Tom Krasovic"], "editing": ["John Bagratuni"]}  # not the outlet


def test_eight_bit_text_and_german_month_names(dpa: Callable[[str], RawItem]) -> None:
    item = dpa("IPTC7901_odd_charset.txt")
    assert item.published_raw == "2015-10-07T13:41:00Z"  # "071341 GMT Okt 15"
    assert "Bastian Schweinsteiger and Thomas Müller, and we" in (item.content_html or "")  # Latin-1, not UTF-8


def test_the_normalizer_reads_dateline_agency_byline_and_credits(dpa: Callable[[str], RawItem]) -> None:
    article = normalize(dpa("IPTC7901_odd_charset.txt"), datetime(2015, 10, 8, tzinfo=UTC))
    assert (article.dateline.place, article.agency, article.byline) == ("Munich", "dpa", ["Manuel Schwarz"])
    assert article.credits["editing"] == ["John Bagratuni"]
    assert article.slugline == "Germany-football/Munich/Mueller"


@pytest.mark.parametrize("body", [b"\x01eca062 4 i 211 ccccb   dpa 061\nno text marker",
                                  b"\x01not a header\n\x02Headline =\n\ntext\x03"])
def test_a_transmission_without_its_header_or_text_is_refused(parse: Parse, body: bytes) -> None:
    with pytest.raises(InvalidDocumentError, match="IPTC 7901"):
        parse(body)


def test_a_lead_count_no_wire_would_send_is_no_version(parse: Parse) -> None:
    # int() of 5,000 digits raised ValueError and failed the transmission
    body = (b"\x01eca0003 3 i 380  dpa 0045\r\n\r\nSlug/\r\n\x02REFILE\n" + b"9" * 5_000
            + b"TH LEAD\nHeadline of the story\nBy dpa =\r\n\r\nGeneva (dpa) - Text of the story.\r\n\x03")
    (item,) = parse(body).items
    assert (item.title, item.version) == ("Headline of the story", None)
