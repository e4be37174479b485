"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import html
import json
from typing import Any

from schemas import Enclosure, FeedFormat, RawItem
from services.poller.formats.base import (
    FeedContext,
    InvalidDocumentError,
    ParsedFeed,
    bounded_original,
    make_raw_item,
)
from services.poller.formats.values import integer, load_json, string, strings, text_as_html


def is_json_feed(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    version = document.get("version")
    if isinstance(version, str) and "jsonfeed.org/version/" in version:
        return True
    # Some publishers (and gofeed's fixtures) write a bare "1.1" version; the feed keys still tell.
    return isinstance(document.get("items"), list) and bool({"home_page_url", "feed_url"} & document.keys())


def parse_json_feed(body: bytes, ctx: FeedContext, content_type: str | None = None) -> ParsedFeed:
    return read_json_feed(load_json(body), ctx)


def read_json_feed(document: Any, ctx: FeedContext) -> ParsedFeed:
    """A JSON Feed document already loaded (``values.load_json``)."""
    if not is_json_feed(document):
        raise InvalidDocumentError("not a JSON Feed: no jsonfeed.org version and no items list")
    items = document.get("items")
    if not isinstance(items, list):
        raise InvalidDocumentError("JSON Feed without an items list")
    title = string(document.get("title"))
    return ParsedFeed(
        format=FeedFormat.JSON_FEED,
        title=title,
        items=[_item(entry, ctx, title, _authors(document), string(document.get("language")))
               for entry in items if isinstance(entry, dict)],
        next_page_url=string(document.get("next_url")),
        hub_url=_hub(document.get("hubs")),
        self_url=string(document.get("feed_url")),
    )


def _item(entry: dict[str, Any], ctx: FeedContext, feed_title: str | None, feed_authors: list[str],
          feed_language: str | None) -> RawItem:
    link = string(entry.get("url"))
    external = string(entry.get("external_url"))
    return make_raw_item(
        ctx,
        FeedFormat.JSON_FEED,
        feed_title,
        guid=_id(entry.get("id")),
        # A link blog item points at someone else's article: that article is what the item is about.
        link=link or external,
        canonical_link=external if link else None,
        title=string(entry.get("title")),
        summary_html=_escaped(entry.get("summary")),
        content_html=string(entry.get("content_html")) or text_as_html(entry.get("content_text")),
        published_raw=string(entry.get("date_published")),
        updated_raw=string(entry.get("date_modified")),
        authors=_authors(entry) or feed_authors,
        categories=strings(entry.get("tags")),
        language=string(entry.get("language")),
        feed_language=feed_language,
        enclosures=_enclosures(entry),
        original=bounded_original(json.dumps(entry, ensure_ascii=False)),
    )


def _enclosures(entry: dict[str, Any]) -> list[Enclosure]:
    """The item's attachments, then its main and banner images (JSON Feed's pictures of the item)."""
    attachments = [e for e in map(_attachment, _list(entry.get("attachments"))) if e is not None]
    images = [Enclosure(url=url) for url in (string(entry.get(key)) for key in ("image", "banner_image")) if url]
    return attachments + images


def _id(value: Any) -> str | None:
    # The spec says string, but numeric ids are common in the wild; they identify just as well.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return string(value)


def _escaped(value: Any) -> str | None:
    summary = string(value)
    return html.escape(summary, quote=False) if summary else None


def _authors(node: dict[str, Any]) -> list[str]:
    # 1.1 has an "authors" list; 1.0's single "author" is deprecated but still published widely.
    people = _list(node.get("authors")) or _list(node.get("author"))
    return [name for name in (string(p.get("name")) for p in people if isinstance(p, dict)) if name]


def _attachment(value: Any) -> Enclosure | None:
    if not isinstance(value, dict) or string(value.get("url")) is None:
        return None
    return Enclosure(url=str(string(value.get("url"))), type=string(value.get("mime_type")),
                     length=integer(value.get("size_in_bytes")))


def _hub(value: Any) -> str | None:
    for hub in _list(value):
        if isinstance(hub, dict) and string(hub.get("url")):
            return string(hub.get("url"))
    return None


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []
