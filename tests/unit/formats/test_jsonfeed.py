"""JSON Feed 1.0/1.1 field mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from schemas import FeedFormat
from services.normalizer.normalize import normalize
from services.poller.formats import FeedContext, InvalidDocumentError, ParsedFeed, parse_document

CTX = FeedContext(feed_id="f", feed_url="https://ex.com/feed", fetched_at=datetime(2026, 12, 1, tzinfo=UTC))
Parse = Callable[..., ParsedFeed]

FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example Wire",
    "feed_url": "https://example.org/feed.json",
    "next_url": "https://example.org/feed.json?page=2",
    "hubs": [{"type": "WebSub", "url": "https://hub.example.org/"}],
    "authors": [{"name": "Feed Author"}],
    "items": [
        {
            "id": "2024-001",
            "url": "https://example.org/a",
            "external_url": "https://elsewhere.example/story",
            "title": "A headline",
            "content_html": "<p>Body</p>",
            "content_text": "ignored when HTML is present",
            "summary": "Tom & Jerry <3",
            "date_published": "2024-05-01T10:00:00+02:00",
            "date_modified": "2024-05-01T11:00:00+02:00",
            "authors": [{"name": "Ann Writer"}, {"url": "https://no-name.example"}],
            "tags": ["politics", "", "world"],
            "language": "en-GB",
            "attachments": [{"url": "https://example.org/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 123}],
            "image": "https://example.org/a.jpg", "banner_image": "https://example.org/banner.png",
        },
        {"id": 42, "content_text": "Line one\nline two\n\nSecond <paragraph>", "author": {"name": "Old Style"}},
        {"id": "3", "external_url": "https://elsewhere.example/only-external"},
        "not an object",
    ],
}


def test_item_fields(parse: Parse) -> None:
    feed = parse(json.dumps(FEED_11))
    assert feed.format is FeedFormat.JSON_FEED
    assert (feed.title, feed.next_page_url, feed.hub_url, feed.self_url) == (
        "Example Wire", "https://example.org/feed.json?page=2", "https://hub.example.org/",
        "https://example.org/feed.json")
    first = feed.items[0]
    assert first.guid == "2024-001"
    assert first.link == "https://example.org/a"
    assert first.canonical_link == "https://elsewhere.example/story"
    assert first.title == "A headline"
    assert first.content_html == "<p>Body</p>"
    assert first.summary_html == "Tom &amp; Jerry &lt;3"
    assert (first.published_raw, first.updated_raw) == ("2024-05-01T10:00:00+02:00", "2024-05-01T11:00:00+02:00")
    assert first.authors == ["Ann Writer"]
    assert first.categories == ["politics", "world"]
    assert first.language == "en-GB"
    assert [(e.url, e.type, e.length) for e in first.enclosures] == [
        ("https://example.org/a.mp3", "audio/mpeg", 123), ("https://example.org/a.jpg", None, None),
        ("https://example.org/banner.png", None, None)]  # the item's main and banner images
    assert first.original is not None and json.loads(first.original)["id"] == "2024-001"
    assert first.item_id == "feed:2024-001"


def test_text_content_numeric_ids_and_deprecated_author(parse: Parse) -> None:
    second = parse(json.dumps(FEED_11)).items[1]
    assert second.guid == "42"
    assert second.content_html == "<p>Line one<br>line two</p><p>Second &lt;paragraph&gt;</p>"
    assert second.authors == ["Old Style"]


def test_link_falls_back_to_external_url_and_feed_authors(parse: Parse) -> None:
    third = parse(json.dumps(FEED_11)).items[2]
    assert third.link == "https://elsewhere.example/only-external"
    assert third.canonical_link is None
    assert third.authors == ["Feed Author"]


def test_non_object_items_are_skipped(parse: Parse) -> None:
    assert len(parse(json.dumps(FEED_11)).items) == 3


def test_json_feed_1_0(parse: Parse) -> None:
    feed = parse(json.dumps({"version": "https://jsonfeed.org/version/1", "title": "Old",
                             "author": {"name": "Feed-wide"},
                             "items": [{"id": "a", "url": "https://x/a", "content_text": "t"}]}))
    assert feed.items[0].authors == ["Feed-wide"]


@pytest.mark.parametrize("body", [b'{"version": "https://jsonfeed.org/version/1.1"}', b"not json", b"[" * 100_000])
def test_broken_json_feeds_are_typed_errors(body: bytes, parse: Parse) -> None:
    with pytest.raises(InvalidDocumentError):
        parse(body, fmt=FeedFormat.JSON_FEED)


def test_items_carry_the_feeds_language(parse: Parse) -> None:
    feed = parse(json.dumps(dict(FEED_11, language="en-GB")))
    assert {item.feed_language for item in feed.items} == {"en-GB"}
    assert {item.feed_language for item in parse(json.dumps(FEED_11)).items} == {None}


@pytest.mark.parametrize("kind", ["json-feed", "ninjs"])
def test_half_a_character_escaped_alone_becomes_the_replacement_character(parse: Parse, kind: str) -> None:
    # JavaScript truncates strings in UTF-16 units, and JSON.stringify escapes the half it leaves
    title = r"Cut \ud83d, whole \ud83d\ude00, written \\ud83d"
    document = ({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "title": "T"}]}
                if kind == "json-feed" else {"uri": "urn:1", "type": "text", "headline": "T", "body_text": "b"})
    body = json.dumps(document).replace('"T"', f'"{title}"')
    (item,) = parse(body).items
    assert item.title == "Cut \ufffd, whole \U0001f600, written \\ud83d"
    assert len(item.to_bytes()) > 0


def test_control_characters_escaped_in_json_are_left_out_of_every_field() -> None:
    # PostgreSQL cannot store NUL: such an article was dead-lettered by the sink, lost to storage
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Feed\x00", "items": [{
        "id": "1\x00", "url": "https://ex.com/a\x00b", "title": "A\x00 B\x07", "content_text": "x\x00 y\n\tz",
        "tags": ["t\x00g"], "authors": [{"name": "Jane\x00 Doe"}]}]}
    article = normalize(parse_document(json.dumps(document).encode(), CTX).items[0], datetime(2026, 12, 1, tzinfo=UTC))
    fields = json.dumps(article.model_dump(mode="json"))
    assert "\\u0000" not in fields and "\\u0007" not in fields
    assert (article.title, article.url, article.categories, article.byline) == (
        "A B", "https://ex.com/ab", ["tg"], ["Jane Doe"])
