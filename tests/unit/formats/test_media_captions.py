"""Media RSS captions (media:description) describe a photo or video, not the item: never its content. The
media themselves (media:content, media:thumbnail) are the item's enclosures.

Each case is read both ways, by the fast reading and by feedparser's, and both must give the same item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import RawItem
from services.normalizer.normalize import normalize
from tests.unit.formats.test_fast_path_conformance import both_readings

NOW = datetime(2024, 1, 25, tzinfo=UTC)
MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'
STORY = "The attack was the latest in a series of long-range drone strikes on Russian energy sites."
CAPTION = "Firefighters at the depot in Klintsy, Russia, on Thursday."


def _rss(item: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {MEDIA}><channel><title>World</title>'
            f"<item><title>Ukraine strikes an oil depot</title><guid>g1</guid>{item}</item></channel></rss>").encode()


def _both(body: bytes) -> RawItem:
    """The first item, read by feedparser; the fast reading must take the document and agree."""
    readings = both_readings(body)
    assert readings is not None, "the fast reading declined"
    fast, reference = readings
    assert fast == reference
    return reference.items[0]


@pytest.mark.parametrize("item", [
    # The New York Times' shape: the description, then the photo's credit and caption beside it.
    f"<description>{STORY}</description><media:content url='https://x.example/p.jpg' medium='image'/>"
    f"<media:credit>Nanna Heitmann</media:credit><media:description>{CAPTION}</media:description>",
    # HuffPost's: the caption inside media:content, with an empty one for a video after it.
    f"<description>{STORY}</description><media:content url='https://x.example/p.jpg'><media:title/>"
    f"<media:description>{CAPTION}</media:description></media:content>"
    "<media:content url='https://x.example/v.mp4'><media:description/></media:content>",
    # The caption first: it must not take the summary's place and push the description into content.
    f"<media:description>{CAPTION}</media:description><description>{STORY}</description>",
], ids=["beside", "inside-media-content", "before"])
def test_a_caption_is_neither_the_summary_nor_the_content(item: str) -> None:
    raw = _both(_rss(item))
    assert (raw.summary_html, raw.content_html) == (STORY, None)
    article = normalize(raw, NOW)
    assert article.body_text == STORY and CAPTION not in article.body_text


def test_an_item_with_no_text_of_its_own_is_summarised_by_its_caption() -> None:
    # A YouTube entry: the video's description is the only text there is.
    feed = (f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" {MEDIA}>'
            "<title>Channel</title><entry><id>yt:video:1</id><title>Launch day</title>"
            "<link rel='alternate' href='https://video.example/1'/><media:group><media:title>Launch day</media:title>"
            "<media:description>Rocket &amp; crew\n\nLive at 9</media:description></media:group></entry></feed>")
    raw = _both(feed.encode())
    assert raw.summary_html == "<p>Rocket &amp; crew</p><p>Live at 9</p>"  # plain text, escaped


def test_an_html_caption_is_kept_as_markup_and_the_first_non_empty_one_counts() -> None:
    raw = _both(_rss("<media:content url='a.jpg'><media:description/></media:content>"
                     "<media:content url='b.jpg'><media:description type='html'>&lt;b&gt;Two&lt;/b&gt; dogs"
                     "</media:description></media:content><media:description>Third</media:description>"))
    assert raw.summary_html == "<b>Two</b> dogs"


def test_huffpost_articles_keep_their_story_not_their_photo_caption(corpus: Path) -> None:
    raw = _both((corpus / "feedjira/spec/sample_feeds/HuffPostCanada.xml").read_bytes())  # the first item
    article = normalize(raw, NOW)
    assert raw.content_html is None
    assert "basketball uniform" in article.body_text
    assert not article.body_text.startswith("About 50 female students")  # the photo's caption


def test_media_content_and_thumbnails_are_the_items_enclosures() -> None:
    # The BBC's shape (a thumbnail only), the Guardian's (pictures in media:content with their size in
    # bytes), a video's media:group, and an RSS enclosure, which comes first.
    raw = _both(_rss(
        "<description>Story.</description><media:thumbnail width='240' height='135' url='https://x.example/t.jpg'/>"
        "<media:content url='/p.jpg' type='Image/JPEG' fileSize='2048' medium='image'>"
        f"<media:description>{CAPTION}</media:description></media:content>"
        "<media:group><media:content url='https://x.example/v.mp4' type='video/mp4'/></media:group>"
        "<media:content medium='image'/><enclosure url='https://x.example/a.mp3' type='audio/mpeg' length='9'/>"))
    assert [(e.url, e.type, e.length, e.width, e.height) for e in raw.enclosures] == [
        ("https://x.example/a.mp3", "audio/mpeg", 9, None, None),
        ("http://example.com/p.jpg", "image/jpeg", 2048, None, None),
        ("https://x.example/v.mp4", "video/mp4", None, None, None), ("https://x.example/t.jpg", None, None, 240, 135)]
    article = normalize(raw, NOW)
    assert [(e.url, e.type) for e in article.enclosures][-1] == ("https://x.example/t.jpg", "image/jpeg")


@pytest.mark.parametrize("size", ["²", "9" * 5_000, "-1", "2 KB"])
def test_a_media_size_that_is_no_number_leaves_the_size_out_not_the_feed(size: str) -> None:
    # int() of "²" (isdigit() is true of it) or of 5,000 digits failed the whole document, every poll
    raw = _both(_rss(f"<description>Story.</description><enclosure url='https://x.example/a.mp3' length='{size}'/>"
                     f"<media:content url='https://x.example/p.jpg' fileSize='{size}'/>"))
    assert [(e.url, e.length) for e in raw.enclosures] == [("https://x.example/a.mp3", None),
                                                           ("https://x.example/p.jpg", None)]
