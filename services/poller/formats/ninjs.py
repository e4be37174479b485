"""IPTC ninjs ("news in JSON") 1.x, 2.x and 3.x: single items, lists of items, and provider envelopes.

1.x names fields in lower case with suffix variants (headline_main, body_html); 2.x groups them in lists
(headlines, bodies); 3.x keeps the lists but writes names in camelCase (versionCreated, pubStatus).
Each field is looked up under all of its names, so one reader handles every version.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from schemas import Enclosure, FeedFormat, PubStatus, RawItem
from services.poller.formats.base import (
    FeedContext,
    InvalidDocumentError,
    ParsedFeed,
    bounded_original,
    make_raw_item,
)
from services.poller.formats.ninjs_fields import (
    authors,
    body_html,
    categories,
    description_html,
    first,
    headline,
    providers,
)
from services.poller.formats.values import integer, load_json, string

# Checks a ninjs object against a schema and returns what is wrong with it (empty when valid). The
# schemas are not shipped with wirefeed; tests plug in validators built from the IPTC schema files.
NinjsValidator = Callable[[Any], Iterable[str]]

_PUBSTATUS = {"usable": PubStatus.USABLE, "withheld": PubStatus.WITHHELD, "canceled": PubStatus.CANCELED,
              # British spelling: not in the standard, but a kill notice must not be read as "usable".
              "cancelled": PubStatus.CANCELED}
_MEDIA_TYPES = frozenset({"picture", "graphic", "video", "audio"})


def unwrap_ninjs(document: Any) -> list[Any] | None:
    """The ninjs objects a document carries, or None when it is not shaped like ninjs at all.

    An envelope may legitimately be empty (a provider's page with nothing new); a bare [] is not ninjs.
    """
    if isinstance(document, dict):
        return [document] if _has_id(document) else _envelope_content(document)
    if isinstance(document, list) and document and all(isinstance(e, dict) and _has_id(e) for e in document):
        return document
    return None


def _envelope_content(document: dict[str, Any]) -> list[Any] | None:
    """Items inside providers' envelopes: BBC's {"total", "offset", "item": [...]}, and AP Media API's
    (ninjs 1.x based) {"data": {"item": {...}}} or {"data": {"items": [{"item": {...}}, ...]}}."""
    if isinstance(document.get("item"), list | dict) and {"total", "offset", "limit"} & document.keys():
        item = document["item"]
        return item if isinstance(item, list) else [item]
    data = document.get("data")
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("item"), dict):
        return [data["item"]]
    if isinstance(data.get("items"), list):
        return [e["item"] for e in data["items"] if isinstance(e, dict) and isinstance(e.get("item"), dict)]
    return None


def _has_id(entry: dict[str, Any]) -> bool:
    return "uri" in entry or "guid" in entry


def parse_ninjs(body: bytes, ctx: FeedContext, content_type: str | None = None, *,
                validator: NinjsValidator | None = None) -> ParsedFeed:
    return read_ninjs(load_json(body), ctx, validator=validator)


def read_ninjs(document: Any, ctx: FeedContext, *, validator: NinjsValidator | None = None) -> ParsedFeed:
    """A ninjs document (an item or a list of them) already loaded (``values.load_json``)."""
    entries = unwrap_ninjs(document)
    if entries is None:
        raise InvalidDocumentError("not ninjs: no object with a uri")
    items: list[RawItem] = []
    for entry in entries:
        _check(entry, validator)
        items.append(_item(entry, ctx))
        items.extend(_item(a, ctx) for a in _text_associations(entry))
    return ParsedFeed(format=FeedFormat.NINJS, items=items, next_page_url=_next_page(document))


def _check(entry: Any, validator: NinjsValidator | None) -> None:
    """The rules every reader depends on; anything else the producer got wrong is read leniently."""
    if not isinstance(entry, dict):
        raise InvalidDocumentError("a ninjs item must be a JSON object")
    if string(entry.get("uri")) is None and string(entry.get("guid")) is None:
        raise InvalidDocumentError("a ninjs item needs a non-empty string uri")
    version = entry.get("version")
    # Versions order an item's updates; a number or an object here means the producer is broken.
    if version is not None and not isinstance(version, str) and integer(version) is None:
        raise InvalidDocumentError(f"ninjs version must be a string, got {version!r}")
    if validator is not None:
        problems = list(validator(entry))
        if problems:
            raise InvalidDocumentError("ninjs schema: " + "; ".join(problems[:3]))


def _item(entry: dict[str, Any], ctx: FeedContext) -> RawItem:
    versioned = first(entry, "versioncreated", "versionCreated")
    writers, credited = authors(entry)
    return make_raw_item(
        ctx,
        FeedFormat.NINJS,
        None,
        guid=string(entry.get("uri")) or string(entry.get("guid")),
        title=headline(entry) or first(entry, "title"),
        summary_html=description_html(entry),
        content_html=body_html(entry),
        # Superdesk's "firstpublished" is when the story went out; "firstcreated" can be a draft's start.
        published_raw=first(entry, "firstpublished", "firstPublished", "firstcreated", "firstCreated") or versioned,
        updated_raw=versioned,
        authors=writers,
        credits=credited or None,
        categories=categories(entry),
        language=first(entry, "language"),
        enclosures=_media(entry),
        version=integer(entry.get("version")),
        pubstatus=_PUBSTATUS.get((first(entry, "pubstatus", "pubStatus") or "").lower()),
        embargoed_until_raw=first(entry, "embargoed", "embargoedUntil", "embargoeduntil"),
        urgency=integer(entry.get("urgency")),
        byline=first(entry, "by", "byline"),
        dateline=first(entry, "located") or _ap_dateline(entry.get("datelinelocation")),
        slugline=first(entry, "slugline"),
        providers=providers(entry),
        original=bounded_original(json.dumps(entry, ensure_ascii=False)),
    )


def _ap_dateline(location: Any) -> str | None:
    # "places" are places the story mentions, not where it was filed; AP writes the dateline apart.
    return first(location, "city", "countryareaname", "countryname") if isinstance(location, dict) else None


def _media(entry: dict[str, Any]) -> list[Enclosure]:
    """A picture's, video's or sound's own renditions; for a story, those of the media packaged with it
    (TT's and Superdesk's text items carry their pictures as associations)."""
    if string(entry.get("type")) in _MEDIA_TYPES:
        return _renditions(entry.get("renditions"))
    return [rendition for association in _associations(entry) if string(association.get("type")) in _MEDIA_TYPES
            for rendition in _renditions(association.get("renditions"))]


def _associations(entry: dict[str, Any]) -> list[dict[str, Any]]:
    associations = entry.get("associations")
    values = associations.values() if isinstance(associations, dict) else associations
    return [a for a in values if isinstance(a, dict)] if isinstance(values, Iterable) else []


def _text_associations(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Text stories packaged with the item; pictures, video and the like are not articles."""
    return [a for a in _associations(entry) if a.get("type") == "text"
            and (string(a.get("uri")) or string(a.get("guid"))) and body_html(a) is not None]


def _renditions(renditions: Any) -> list[Enclosure]:
    values = renditions.values() if isinstance(renditions, dict) else renditions
    if not isinstance(values, Iterable):
        return []
    enclosures = []
    for rendition in values:
        if isinstance(rendition, dict) and string(rendition.get("href")):
            enclosures.append(Enclosure(
                url=str(string(rendition.get("href"))),
                type=first(rendition, "mimetype", "contenttype", "contentType"),
                length=integer(rendition.get("size") or rendition.get("sizeinbytes") or rendition.get("sizeInBytes")),
                width=integer(rendition.get("width")), height=integer(rendition.get("height")),
            ))
    return enclosures


def _next_page(document: Any) -> str | None:
    data = document.get("data") if isinstance(document, dict) else None
    return string(data.get("next_page")) if isinstance(data, dict) else None
