"""The wire's slug, read from real agency copy in each format that carries one, and what the normalizer
does with it: carried on the article, and its topic taken off the headline that opens with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.normalizer.normalize import normalize
from tests.helpers import corpus_items

FETCHED = datetime(2024, 1, 1, tzinfo=UTC)
REUTERS_PRECIOUS = "superdesk-core/tests/io/fixtures/tag_reuters.com,0000_newsml_L4N1FL0N0_1132689232"


@pytest.mark.parametrize(("relative", "slugline"), [
    (REUTERS_PRECIOUS, "GLOBAL-PRECIOUS/ (UPDATE 1)"),                                   # NewsML-G2
    ("superdesk-core/tests/io/fixtures/ninjs_embargoed.json", "Climate-smart food"),    # ninjs (Superdesk)
    ("superdesk-core/tests/io/fixtures/ap_media_text_item.json", "BC-BBN--Top Ten"),    # ninjs (AP)
    ("superdesk-core/tests/io/fixtures/afp.xml", "Sweden-SAAB"),                        # NewsML 1 (AFP)
    ("iptc-ninjs/examples/NewsML/businesswire-newsml-20130731006140.xml", "MO-APPLEBEE’S"),  # NewsML 1
])
def test_the_slugline_is_read(relative: str, slugline: str) -> None:
    assert corpus_items(relative, FETCHED)[0].slugline == slugline


@pytest.mark.parametrize(("relative", "headline", "title", "topic"), [
    (REUTERS_PRECIOUS, "PRECIOUS-Gold rises as Trump policy fuels safe haven demand",
     "Gold rises as Trump policy fuels safe haven demand", "PRECIOUS"),
    ("superdesk-core/tests/io/fixtures/tag_reuters.com,0000_newsml_ISS149709_1618095828",
     "Soccer-Turkish championship results and standings", "Turkish championship results and standings", "Soccer"),
])
def test_the_article_carries_the_slugline_and_its_headline_loses_the_topic(relative: str, headline: str, title: str,
                                                                          topic: str) -> None:
    raw = corpus_items(relative, FETCHED)[0]
    assert raw.title == headline
    article = normalize(raw, FETCHED)
    assert (article.title, article.wire_prefixes, article.slugline) == (title, [topic], raw.slugline)
