"""Media RSS: the media an item links, and media:description, a caption kept apart from the item's text.

An item's media:content and media:thumbnail elements are its pictures, audio and video, which many news
feeds (the BBC's, the Guardian's) give instead of an RSS enclosure: they join the item's enclosures.

feedparser reads media:description as if it were the item's <description>. After the item's own
description that makes it the item's *content*, which wirefeed prefers to the summary: a HuffPost Canada
article (the whole story in its description, a photo with a caption in media:content) came out as the
photo's caption, and a New York Times item (a one-line description, then media:description) too. Read
the Media RSS way, the caption describes the media, not the item: wirefeed keeps it apart, and uses it
as the item's summary only when the item has no text of its own (a YouTube or Flickr entry, whose
caption is all the text there is). Both readings, feedparser's and the fast one, follow this rule.
"""

from __future__ import annotations

from typing import Any

import feedparser.namespaces.mediarss

from services.poller.formats.values import text_or_markup_as_html

# Where feedparser's reading keeps an item's first non-empty media:description, as HTML.
ENTRY_KEY = "wirefeed_media_description"


def as_summary(text: str, kind: str | None) -> str | None:
    """The caption as HTML: type="html" is markup already, any other type (Media RSS's default is
    "plain") is text."""
    return text_or_markup_as_html(text, is_markup=(kind or "plain").strip().lower() == "html")


def media_enclosures(contents: list[dict[str, Any]], thumbnails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Media RSS content, then thumbnails, each in document order, as enclosures' fields, from their
    attributes as feedparser keeps them (names and the type in lower case); one without a URL is left out."""
    return [{"href": media["url"], "length": media.get("filesize"), "type": media.get("type") or None,
             "width": media.get("width"), "height": media.get("height")}
            for media in (*contents, *thumbnails) if media.get("url")]


def fallback_summary(summary: str | None, content: str | None, caption: str | None) -> str | None:
    """The item's summary, or the caption when the item has neither summary nor content."""
    return summary if summary or content else caption


def _start_media_description(parser: Any, attrs_d: dict[str, str]) -> None:
    # expecting_text=0: feedparser returns the element's text from pop() and stores it nowhere.
    parser.push("media_description", 0)
    parser.wirefeed_media_type = attrs_d.get("type")


def _end_media_description(parser: Any) -> None:
    text = parser.pop("media_description")  # None when the document closed elements out of order
    context = parser._get_context()
    if text and ENTRY_KEY not in context:
        context[ENTRY_KEY] = as_summary(text, getattr(parser, "wirefeed_media_type", None))


def keep_captions_apart_in_feedparser() -> None:
    """Replace feedparser's media:description handlers (its own mixin, shared by every parse)."""
    namespace = feedparser.namespaces.mediarss.Namespace
    namespace._start_media_description = _start_media_description
    namespace._end_media_description = _end_media_description
