"""Golden files: ``tests/data/golden/normalize-<case>.input.json`` (a RawItem), or ``.input.xml`` (a wire
document the poller reads first: NewsML-G2, NITF, NewsML 1), beside ``normalize-<case>.expected.json``
(the Article fields that cleaning and extraction decide).

After an intended change of behaviour, rewrite the expected files and review the diff::

    WIREFEED_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/normalizer/test_normalizer_golden.py

Without the variable the test only compares. "now" is the item's fetch time (``DOCUMENTS_FETCHED_AT``
for documents), so the files never age.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from schemas import Article, RawItem
from services.normalizer.normalize import normalize
from services.poller.formats import FeedContext, parse_document
from tests.helpers import CORPUS

GOLDEN = Path(__file__).parents[2] / "data" / "golden"
CASES = sorted(path.name.split(".input.")[0] for path in GOLDEN.glob("normalize-*.input.*"))
DOCUMENTS_FETCHED_AT = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)
FIELDS = (
    "title", "summary", "body_text", "body_html", "language", "published_at", "published_at_estimated",
    "updated_at", "dateline", "agency", "byline", "credits", "wire_prefixes", "version", "pubstatus",
    "embargoed_until", "urgency", "canonical_url", "categories", "enclosures",
)
UPDATE = os.environ.get("WIREFEED_UPDATE_GOLDEN") == "1"


def load_raw(case: str) -> RawItem:
    document = GOLDEN / f"{case}.input.xml"
    if document.exists():
        ctx = FeedContext(feed_id="wire", feed_url="https://wire.example/feed", fetched_at=DOCUMENTS_FETCHED_AT)
        (item,) = parse_document(document.read_bytes(), ctx).items
        return item
    return RawItem.model_validate_json((GOLDEN / f"{case}.input.json").read_text())


def normalize_case(case: str) -> Article:
    raw = load_raw(case)
    return normalize(raw, raw.fetched_at)


def selected(article: Article) -> dict[str, Any]:
    dumped = article.model_dump(mode="json")
    return {field: dumped[field] for field in FIELDS}


def test_there_are_golden_cases_for_every_wire_format() -> None:
    assert len(CASES) >= 6
    formats = {load_raw(case).format.value for case in CASES}
    assert {"ninjs", "newsml-g2", "nitf", "newsml-1", "rss", "atom"} <= formats


@pytest.mark.parametrize("case", CASES)
def test_normalize_matches_the_golden_file(case: str) -> None:
    actual = selected(normalize_case(case))
    expected_path = GOLDEN / f"{case}.expected.json"
    if UPDATE:
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(expected_path.read_text())


def test_the_seed_story_loses_its_notice_and_credit_line_but_keeps_its_wire_metadata() -> None:
    article = normalize_case("normalize-seed-shore-news-network")
    assert article.dateline.place == "BAGHDAD"
    assert article.dateline.agency == "Reuters"
    assert article.agency == "Reuters"
    assert article.byline == ["Timour Azhari"]
    assert article.credits == {"reporting": ["Timour Azhari"], "editing": ["Alison Williams"]}
    assert article.language == "en"
    assert article.body_text.startswith("BAGHDAD (Reuters) –")
    for gone in ("ad blocker", "Shore News Network is a free website", "Reporting by", "Editing by"):
        assert gone not in article.body_text
        assert gone not in article.body_html


def test_two_outlets_copies_of_one_wire_story_clean_to_the_same_text() -> None:
    seed = normalize_case("normalize-seed-shore-news-network")
    other = normalize_case("normalize-seed-second-outlet")
    assert other.body_text == seed.body_text
    assert other.content_hash == seed.content_hash
    assert (other.byline, other.credits, other.agency) == (seed.byline, seed.credits, seed.agency)


def test_the_seed_story_as_plain_text_with_a_line_per_paragraph_cleans_the_same() -> None:
    """A feed's <description> holding the story as text, one line per paragraph and no blank lines."""
    title, _, text = (CORPUS.parent / "seed" / "reuters-iraq-coalition-syndicated.txt").read_text().partition("\n")
    lines = "\n".join(paragraph.strip() for paragraph in text.split("\n\n") if paragraph.strip())
    document = (f'<rss version="2.0"><channel><title>Shore News Network</title><item><title>{escape(title)}</title>'
                f"<guid>seed</guid><description>{escape(lines)}</description></item></channel></rss>")
    ctx = FeedContext(feed_id="snn", feed_url="https://snn.example/feed", fetched_at=DOCUMENTS_FETCHED_AT)
    (raw,) = parse_document(document.encode(), ctx).items
    article = normalize(raw, DOCUMENTS_FETCHED_AT)
    assert (article.dateline.place, article.agency) == ("BAGHDAD", "Reuters")
    assert article.credits == {"reporting": ["Timour Azhari"], "editing": ["Alison Williams"]}
    assert article.body_text == normalize_case("normalize-seed-shore-news-network").body_text
