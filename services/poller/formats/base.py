"""What every format parser shares: the parse context, typed errors, and building a RawItem."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from schemas import FeedFormat, RawItem
from services.poller.metrics import ITEM_ENTRIES_DROPPED

if TYPE_CHECKING:  # for the annotation only: the parsers need not load the feeds file's models
    from services.poller.feeds import FeedConfig

log = structlog.get_logger(__name__)

MAX_ITEM_ID_CHARS = 512
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
# RawItem.original keeps the item's source fragment for re-normalizing later; a hostile or runaway item
# must not turn every Kafka message into megabytes.
MAX_ORIGINAL_CHARS = 1024 * 1024
# An item's lists (media, tags, names) hold a few entries; a hostile one with a hundred thousand media:content
# elements would make a message no broker takes, and its feed would fail every poll.
MAX_LIST_ENTRIES = 200
_LIST_FIELDS = ("enclosures", "categories", "authors", "providers")


class FeedParseError(Exception):
    """The document is not a feed in any supported format, or is broken beyond use."""


class UnsupportedFormatError(FeedParseError):
    """The document is well-formed but not a format wirefeed reads."""


class InvalidDocumentError(FeedParseError):
    """The document is in a format wirefeed reads but breaks that format's rules (e.g. an item without id)."""


@dataclass(frozen=True)
class FeedContext:
    feed_id: str
    feed_url: str
    fetched_at: datetime
    feed_title: str | None = None  # the operator's name for the source, over the one the document gives
    feed_agency: str | None = None  # the agency whose own wire the feed is, as the feeds file marks it
    feed_timezone: str | None = None  # the IANA zone the feed writes local times in, as the feeds file says

    @classmethod
    def for_feed(cls, feed: FeedConfig, url: str, fetched_at: datetime) -> FeedContext:
        """The context of a configured feed's document, fetched from ``url``: what the feeds file says of
        the feed, which the poller and the preview must both read its items with."""
        return cls(feed_id=feed.id, feed_url=url, fetched_at=fetched_at, feed_title=feed.title,
                   feed_agency=feed.agency, feed_timezone=feed.timezone)


@dataclass
class ParsedFeed:
    format: FeedFormat
    title: str | None = None
    items: list[RawItem] = field(default_factory=list)
    ttl_seconds: float | None = None
    next_page_url: str | None = None
    hub_url: str | None = None
    self_url: str | None = None


CONTENT_FIELDS = (
    "title", "link", "summary_html", "content_html", "published_raw", "updated_raw",
    "version", "pubstatus", "embargoed_until_raw", "byline", "dateline", "urgency",
)


def content_hash(fields: dict[str, Any]) -> str:
    """A hash of what a reader sees: it changes when an item is edited, not when a feed is re-served."""
    # Unit and record separators cannot occur in XML text, so the encoding is unambiguous (and cheap).
    material = "\x1e".join([f"{name}\x1f{fields[name]}" for name in CONTENT_FIELDS if fields.get(name) is not None])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def item_id(feed_id: str, guid: str | None, link: str | None, fallback: Callable[[], str]) -> str:
    """feed id + guid, or + link when the guid is missing, or + a hash of the item when both are."""
    key = (guid or "").strip() or (link or "").strip()
    if not key.isprintable():  # a NUL from an e-mail header or a wire transmission: no database stores it
        key = _CONTROL_CHARACTER.sub("", key)
    if not key:
        key = "sha256:" + hashlib.sha256(fallback().encode()).hexdigest()
    if len(key) > MAX_ITEM_ID_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{feed_id}:{key}"


def bounded_original(fragment: str) -> str:
    return fragment[:MAX_ORIGINAL_CHARS]


def make_raw_item(ctx: FeedContext, fmt: FeedFormat, feed_title: str | None, **fields: Any) -> RawItem:
    return raw_item(ctx, fmt, feed_title, {name: value for name, value in fields.items() if value is not None})


def raw_item(ctx: FeedContext, fmt: FeedFormat, feed_title: str | None, fields: dict[str, Any]) -> RawItem:
    """The RawItem of an item's fields, none of them None (make_raw_item drops those); its lists bounded."""
    for name in _LIST_FIELDS:  # a loop, not any(): this runs for every item of every feed
        if len(fields.get(name, ())) > MAX_LIST_ENTRIES:
            fields = _bounded_lists(ctx, fields)
            break
    return RawItem.model_validate({
        "item_id": item_id(ctx.feed_id, fields.get("guid"), fields.get("link"), lambda: _fallback_key(fields)),
        "feed_id": ctx.feed_id,
        "feed_url": ctx.feed_url,
        "feed_title": ctx.feed_title or feed_title,
        "feed_agency": ctx.feed_agency,
        "feed_timezone": ctx.feed_timezone,
        "format": fmt,
        "fetched_at": ctx.fetched_at,
        "content_hash": content_hash(fields),
        **fields,
    })


def _bounded_lists(ctx: FeedContext, fields: dict[str, Any]) -> dict[str, Any]:
    dropped = {name: len(fields[name]) - MAX_LIST_ENTRIES
               for name in _LIST_FIELDS if len(fields.get(name, ())) > MAX_LIST_ENTRIES}
    for name, count in dropped.items():
        ITEM_ENTRIES_DROPPED.labels(feed=ctx.feed_id, field=name).inc(count)
    log.warning("item_entries_dropped", feed=ctx.feed_id, guid=fields.get("guid"), dropped=dropped,
                kept=MAX_LIST_ENTRIES)
    return {key: value[:MAX_LIST_ENTRIES] if key in dropped else value for key, value in fields.items()}


def _fallback_key(fields: dict[str, Any]) -> str:
    return json.dumps([fields.get("title"), fields.get("summary_html"), fields.get("published_raw")], default=str)
